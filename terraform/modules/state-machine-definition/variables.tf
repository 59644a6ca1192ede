variable "emr_release_label" {
  description = "EMR release of the transient cluster; its Spark must match the pinned pyspark (emr-7.13.0 ships Spark 3.5.6)."
  type        = string
  default     = "emr-7.13.0"
  validation {
    condition     = can(regex("^emr-7\\.[0-9]+\\.[0-9]+$", var.emr_release_label))
    error_message = "Use an emr-7.x.y release: the jobs need Spark 3.5 and Python 3.11 on the nodes."
  }
}

variable "emr_service_role" {
  description = "Name of the EMR service role."
  type        = string
}

variable "emr_instance_profile" {
  description = "Name of the EC2 instance profile of the cluster nodes."
  type        = string
}

variable "security_configuration" {
  description = "Name of the EMR security configuration (at-rest encryption with the KMS key)."
  type        = string
}

variable "log_uri" {
  description = "S3 URI of the cluster logs, e.g. s3://BUCKET/logs/emr/."
  type        = string
  validation {
    condition     = startswith(var.log_uri, "s3://")
    error_message = "log_uri must be an s3:// URI."
  }
}

variable "subnet_id" {
  description = "Subnet the cluster runs in."
  type        = string
}

variable "instances" {
  description = "Cluster size: instance types, core units, whether core nodes use Spot (with a fallback to on demand)."
  type = object({
    primary_instance_type = optional(string, "m5.xlarge")
    core_instance_type    = optional(string, "m5.xlarge")
    core_instance_count   = optional(number, 2)
    core_use_spot         = optional(bool, true)
  })
  default = {}
  validation {
    condition     = var.instances.core_instance_count >= 1 && var.instances.core_instance_count <= 20 && floor(var.instances.core_instance_count) == var.instances.core_instance_count
    error_message = "core_instance_count must be a whole number from 1 to 20."
  }
}

variable "timeouts" {
  description = "Seconds: idle time before EMR auto-terminates the cluster (last safety net), per-step timeout, whole-execution timeout; step retries and the first retry interval."
  type = object({
    idle_timeout_seconds     = optional(number, 1800)
    step_timeout_seconds     = optional(number, 7200)
    pipeline_timeout_seconds = optional(number, 21600)
    step_retries             = optional(number, 2)
    retry_interval_seconds   = optional(number, 60)
  })
  default = {}
  validation {
    condition     = var.timeouts.pipeline_timeout_seconds > 2 * var.timeouts.step_timeout_seconds
    error_message = "pipeline_timeout_seconds must exceed both steps' timeouts, so a hung step is caught (and the cluster terminated) before the whole execution times out."
  }
  validation {
    condition     = var.timeouts.idle_timeout_seconds >= 60 && var.timeouts.step_retries >= 0 && var.timeouts.step_retries <= 5
    error_message = "idle_timeout_seconds must be at least 60 and step_retries from 0 to 5."
  }
}
