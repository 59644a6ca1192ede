variable "name_prefix" {
  description = "Prefix of every role name, e.g. fruits-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix: 3 to 31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_name" {
  description = "The platform's bucket (its prefixes: var.prefixes)."
  type        = string
}

variable "prefixes" {
  description = "Where each kind of object lives in the bucket: the storage module's `prefixes` output, passed by the root."
  type = object({
    images        = string
    artifacts     = string
    results       = string
    logs          = string
    tmp           = string
    notebooks     = string
    feature_store = string
  })
  validation {
    # A prefix is one or more plain folder names, each followed by "/": "results/", "data/images/".
    condition     = alltrue([for prefix in values(var.prefixes) : can(regex("^([^/]+/)+$", prefix)) && !can(regex("(^|/)[.][.]?/", prefix))])
    error_message = "Each prefix must end in \"/\", have no leading \"/\" and no empty, \".\" or \"..\" folder: e.g. \"results/\"."
  }
}

variable "state_machine_name" {
  description = "The pipeline's state machine, as modules/pipeline names it: the operator policy may start and follow its executions only."
  type        = string
}

variable "kms_key_arn" {
  description = "The bucket's customer-managed KMS key."
  type        = string
}

variable "allowed_regions" {
  description = "Regions every role may call; all others are denied (GDPR: data stays in the EU)."
  type        = list(string)
  default     = ["eu-west-3"]
  validation {
    condition     = length(var.allowed_regions) > 0 && alltrue([for r in var.allowed_regions : contains(["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"], r)])
    error_message = "allowed_regions must list regions in EU member states only: eu-central-1, eu-north-1, eu-south-1, eu-south-2, eu-west-1, eu-west-3."
  }
}

variable "tags" {
  description = "Tags added to every role."
  type        = map(string)
  default     = {}
}
