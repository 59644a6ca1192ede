variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fruits-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "state_machine_name" {
  description = "Name of the state machine (the root names it, so the operator policy in modules/iam can name it too)."
  type        = string
}

variable "bucket_name" {
  description = "The platform's bucket; EMR logs go to s3://BUCKET/LOGS_PREFIX/emr/."
  type        = string
}

variable "prefixes" {
  description = "Where each kind of object lives in the bucket: the storage module's `prefixes` output, passed by the root."
  type = object({
    images    = string
    artifacts = string
    results   = string
    logs      = string
    tmp       = string
    notebooks = string
  })
  validation {
    # A prefix is one or more plain folder names, each followed by "/": "results/", "data/images/".
    condition     = alltrue([for prefix in values(var.prefixes) : can(regex("^([^/]+/)+$", prefix)) && !can(regex("(^|/)[.][.]?/", prefix))])
    error_message = "Each prefix must end in \"/\", have no leading \"/\" and no empty, \".\" or \"..\" folder: e.g. \"results/\"."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key: encrypts the log group, and the cluster's S3 data and local disks."
  type        = string
  validation {
    condition     = can(regex("^arn:aws:kms:eu-[a-z]+-[0-9]:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key in an EU region."
  }
}

variable "step_functions_role_arn" {
  description = "Execution role of the state machine."
  type        = string
}

variable "emr_service_role_name" {
  description = "Name of the EMR service role."
  type        = string
}

variable "emr_instance_profile_name" {
  description = "Name of the cluster nodes' instance profile."
  type        = string
}

variable "subnet_id" {
  description = "Subnet of the transient cluster."
  type        = string
}

variable "log_retention_days" {
  description = "Days the execution logs are kept (GDPR: execution data is personal data's neighbour, keep it short)."
  type        = number
  default     = 14
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14 or 30."
  }
}

variable "emr" {
  description = "Cluster and timing settings of the runs."
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

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
