variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fruits-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
  validation {
    # The default bucket name starts with it, and S3 reserves these prefixes:
    # docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    condition     = !anytrue([for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.name_prefix, reserved)])
    error_message = "name_prefix must not start with xn--, sthree- or amzn-s3-demo-: S3 refuses bucket names that do, and the default bucket name starts with name_prefix."
  }
}

variable "region" {
  description = "Region of the bucket and the key (the root's EU region): names the default bucket and the log groups' ARNs."
  type        = string
  validation {
    condition     = contains(["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"], var.region)
    error_message = "region must be an AWS region in an EU member state: eu-central-1, eu-north-1, eu-south-1, eu-south-2, eu-west-1 or eu-west-3."
  }
}

variable "bucket_name" {
  description = "Bucket name; null gives NAME_PREFIX-ACCOUNT-REGION (bucket names are global)."
  type        = string
  default     = null
  validation {
    # S3's naming rules (3 to 63 characters, lowercase letters, digits and hyphens, a letter or digit
    # at each end, reserved prefixes and suffixes): the provider checks only some of them at plan.
    # docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html. No dot either: S3's
    # wildcard certificate matches only virtual-hosted buckets without one
    # (docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html), and the bucket policy
    # admits HTTPS only.
    condition = var.bucket_name == null ? true : alltrue([
      can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name)),
      !anytrue([for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.bucket_name, reserved)]),
      !anytrue([for reserved in ["-s3alias", "--ol-s3", "--x-s3", "--table-s3"] : endswith(var.bucket_name, reserved)]),
    ])
    error_message = "bucket_name must be 3 to 63 lowercase letters, digits or hyphens (no dot), begin and end with a letter or digit, not start with xn--, sthree- or amzn-s3-demo- and not end with -s3alias, --ol-s3, --x-s3 or --table-s3: S3 refuses the others, or HTTPS cannot reach them."
  }
}

variable "key_user_arns" {
  description = "IAM roles or users that may encrypt and decrypt with the key (the pipeline's roles, the people who upload images and read results). Nobody else may use it, whatever their IAM policies say."
  type        = list(string)
  validation {
    condition     = alltrue([for arn in var.key_user_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "key_user_arns must be IAM role or user ARNs."
  }
}

variable "log_group_name_prefix" {
  description = "CloudWatch log groups whose names start with this may encrypt with the key."
  type        = string
}

variable "retention_days" {
  description = "Days kept under tmp/ and logs/, for overwritten or deleted (noncurrent) object versions, and for those of the feature store (purged features: the erasure is complete when they expire)."
  type = object({
    tmp             = optional(number, 7)
    logs            = optional(number, 30)
    noncurrent      = optional(number, 30)
    erased_features = optional(number, 1)
    multipart       = optional(number, 2)
  })
  default = {}
  validation {
    condition     = alltrue([for days in values(var.retention_days) : days >= 1 && days <= 365])
    error_message = "Every retention must be between 1 and 365 days."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects (off: images and results are kept)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
