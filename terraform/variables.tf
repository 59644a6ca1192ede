# The root's inputs. The region list is the platform's GDPR perimeter: AWS regions in EU member
# states only (London and Zurich are outside the EU, whatever their "eu-" prefix says). The same
# list is in src/fruits/cloud/regions.py and in the compliance policies; a test keeps them equal.
variable "region" {
  description = "AWS region of every resource. EU member states only (GDPR): eu-west-3 (Paris) by default."
  type        = string
  default     = "eu-west-3"
  validation {
    condition     = contains(["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"], var.region)
    error_message = "region must be an AWS region in an EU member state: eu-central-1, eu-north-1, eu-south-1, eu-south-2, eu-west-1 or eu-west-3."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; one per environment, e.g. fruits-prod."
  type        = string
  default     = "fruits"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_name" {
  description = "Bucket name; null gives NAME_PREFIX-ACCOUNT-REGION."
  type        = string
  default     = null
}

variable "data_user_arns" {
  description = "IAM roles or users who upload images, start runs and read results: the only people, besides the pipeline's roles, who may use the data key. Attach the operator_policy_arn output to their roles too."
  type        = list(string)
  default     = []
  # The key policy names each of them twice, and KMS takes a key policy of at most 32,768 bytes
  # (docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html): with this cap it
  # stays under about 28 KB (tests/compliance/test_policy_sizes.py), else apply fails at the key.
  validation {
    condition     = length(var.data_user_arns) <= 100 && length(join("", var.data_user_arns)) <= 10000
    error_message = "data_user_arns: at most 100 ARNs and 10,000 characters in all (the key policy lists each twice, and KMS refuses a key policy over 32 KB): grant a role that people assume instead of listing each of them."
  }
}

variable "subnet_id" {
  description = "An existing subnet for the clusters; null creates a small private VPC for them. Your own subnet must reach S3 and KMS (endpoints or NAT), as modules/network explains."
  type        = string
  default     = null
}

variable "session_manager_endpoints" {
  description = "With the platform's own VPC: add the Session Manager endpoints that `fruits demo-start` needs (about $0.03 an hour in all, cluster or not)."
  type        = bool
  default     = false
}

variable "emr" {
  description = "Cluster and timing settings of the runs (see modules/pipeline)."
  type = object({
    release_label            = optional(string, "emr-7.13.0")
    primary_instance_type    = optional(string, "m5.xlarge")
    core_instance_type       = optional(string, "m5.xlarge")
    core_instance_count      = optional(number, 2)
    core_use_spot            = optional(bool, true)
    idle_timeout_seconds     = optional(number, 1800)
    step_timeout_seconds     = optional(number, 7200)
    pipeline_timeout_seconds = optional(number, 50400)
  })
  default = {}
}

variable "log_retention_days" {
  description = "Days the execution logs are kept (1, 3, 5, 7, 14 or 30)."
  type        = number
  default     = 14
}

variable "force_destroy_bucket" {
  description = "Let `terraform destroy` delete the bucket with the images and results in it."
  type        = bool
  default     = false
}

variable "cost_guard" {
  description = "Optional AWS Budgets alarm on EMR spend; null (the default) creates none."
  type = object({
    monthly_limit_usd = number
    alert_emails      = list(string)
  })
  default = null
}

variable "tags" {
  description = "Extra tags on every resource (the provider adds Project, Component, ManagedBy)."
  type        = map(string)
  default     = {}
  validation {
    # default_tags put them on the IAM roles too, and IAM takes keys of 1-128 and values of 0-256
    # letters, digits, spaces and _ . : / = + - @ (docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html),
    # at most 50 tags a role (docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html) and
    # none starting with aws: ("Rules for tagging in IAM": docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html).
    # A refused tag would stop apply at the first role, after what it has created before.
    condition = length(var.tags) <= 47 && alltrue([for key, value in var.tags : alltrue([
      can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]{1,128}$", key)),
      can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]{0,256}$", value)),
      !startswith(lower(key), "aws:"),
    ])])
    error_message = "tags: at most 47 (the provider adds 3, a resource takes 50), keys of 1-128 and values of 0-256 letters, digits, spaces and _ . : / = + - @, no key starting with aws: (IAM refuses any other tag)."
  }
}
