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

variable "log_encryption_key_arn" {
  description = "KMS key EMR encrypts its log uploads with (LogEncryptionKmsKeyId); without one EMR uses AES-256, which the bucket policy refuses."
  type        = string
  validation {
    condition     = can(regex("^arn:aws:kms:eu-[a-z]+-[0-9]:[0-9]{12}:key/", var.log_encryption_key_arn))
    error_message = "log_encryption_key_arn must be the ARN of a KMS key in an EU region."
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
  validation {
    # The bootstrap installs wheels built for x86_64 only (src/fruits/cloud/wheelhouse.py): on an
    # arm64 (Graviton) type every node's install fails. EMR offers both architectures
    # (docs.aws.amazon.com/emr/latest/APIReference/API_ListSupportedInstanceTypes.html, its
    # Architecture field); Graviton families carry a "g" after their generation (m6g, c7gn, r8gd) or
    # are a1.
    condition = alltrue([for type in [var.instances.primary_instance_type, var.instances.core_instance_type] :
    can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", type)) && !can(regex("^(a1|[a-z]+[0-9]+[a-z]*g[a-z]*)\\.", type))])
    error_message = "primary_instance_type and core_instance_type must be x86_64 EC2 types such as m5.xlarge: the nodes install x86_64 wheels, so Graviton (arm64) types such as m6g.xlarge cannot run the bootstrap."
  }
}

variable "timeouts" {
  description = "Seconds: idle time before EMR auto-terminates the cluster (last safety net); cluster start timeout and the time between two checks of the starting cluster; per-step and termination timeouts; whole-execution timeout; step retries and the first retry interval (doubling, with jitter)."
  type = object({
    idle_timeout_seconds          = optional(number, 1800)
    cluster_start_timeout_seconds = optional(number, 1800)
    cluster_check_seconds         = optional(number, 60)
    step_timeout_seconds          = optional(number, 7200)
    termination_timeout_seconds   = optional(number, 600)
    pipeline_timeout_seconds      = optional(number, 50400)
    step_retries                  = optional(number, 2)
    retry_interval_seconds        = optional(number, 60)
  })
  default = {}
  validation {
    # The execution must outlive its worst case, or it times out without running any Catch and
    # the cluster is left to its idle timeout: cluster start (RunJobFlow's 60 s, then each check:
    # its wait, 3 attempts of 15 s and 15 s between them; main.tf), then each step's attempts (1 +
    # retries) and the waits between them (interval x 1, 2, 4, ...; jitter only shortens them),
    # then one termination path with its 3 retries (main.tf). Retry and timeout semantics:
    # docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
    condition = var.timeouts.pipeline_timeout_seconds >= (
      60 + ceil(var.timeouts.cluster_start_timeout_seconds / var.timeouts.cluster_check_seconds) * (var.timeouts.cluster_check_seconds + 60)
      + 2 * ((var.timeouts.step_retries + 1) * var.timeouts.step_timeout_seconds + var.timeouts.retry_interval_seconds * (pow(2, var.timeouts.step_retries) - 1))
      + 4 * var.timeouts.termination_timeout_seconds + 7 * var.timeouts.retry_interval_seconds
    )
    error_message = "pipeline_timeout_seconds must cover the worst case: cluster start (60 + each check x (cluster_check_seconds + 60)) + 2 steps x (1 + step_retries) attempts x step_timeout_seconds + the retry waits + termination (4 x termination_timeout_seconds + 7 x retry_interval_seconds). Otherwise the execution can time out before a Catch terminates the cluster."
  }
  validation {
    # An execution's history holds at most 25,000 events:
    # docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    condition     = var.timeouts.idle_timeout_seconds >= 60 && var.timeouts.step_retries >= 0 && var.timeouts.step_retries <= 5 && var.timeouts.cluster_start_timeout_seconds >= 1 && var.timeouts.termination_timeout_seconds >= 1 && var.timeouts.cluster_check_seconds >= 1 && var.timeouts.cluster_check_seconds <= var.timeouts.cluster_start_timeout_seconds && ceil(var.timeouts.cluster_start_timeout_seconds / var.timeouts.cluster_check_seconds) <= 1000
    error_message = "idle_timeout_seconds must be at least 60, step_retries from 0 to 5, the cluster start and termination timeouts positive, and cluster_check_seconds from 1 to the start timeout, at most 1,000 checks (each check adds about 11 events to the execution's history, whose quota is 25,000)."
  }
  validation {
    # A TimeoutSeconds, the state machine's or a Task's, "must be a positive, non-zero integer"
    # (docs.aws.amazon.com/step-functions/latest/dg/state-task.html), at most 99,999,999; a
    # Retrier's IntervalSeconds a whole number of at least 1 and its MaxAttempts a whole number
    # (docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html); a Wait state's
    # Seconds a whole number. templatefile() writes any number, and CreateStateMachine would
    # refuse the definition at apply, once the bucket, roles and network exist.
    condition = alltrue([for name in ["cluster_start_timeout_seconds", "cluster_check_seconds", "step_timeout_seconds", "termination_timeout_seconds", "pipeline_timeout_seconds", "retry_interval_seconds"] :
    var.timeouts[name] >= 1 && var.timeouts[name] <= 99999999 && floor(var.timeouts[name]) == var.timeouts[name]]) && floor(var.timeouts.step_retries) == var.timeouts.step_retries
    error_message = "Every timeout, the check interval and the retry interval must be whole numbers of seconds from 1 to 99999999, and step_retries a whole number: Step Functions refuses a definition with any other."
  }
  validation {
    # RunJobFlow's AutoTerminationPolicy.IdleTimeout is a Long from 60 to 604,800 (seven days):
    # docs.aws.amazon.com/emr/latest/APIReference/API_AutoTerminationPolicy.html. The definition
    # carries any number to AWS, and RunJobFlow would refuse it on the first run.
    condition     = var.timeouts.idle_timeout_seconds >= 60 && var.timeouts.idle_timeout_seconds <= 604800 && floor(var.timeouts.idle_timeout_seconds) == var.timeouts.idle_timeout_seconds
    error_message = "idle_timeout_seconds must be a whole number from 60 to 604800 (seven days): EMR's RunJobFlow refuses any other idle timeout."
  }
}
