# Renders stepfunctions/pipeline.asl.json, the one definition the state machine and the tests use.
locals {
  termination_retries = 3 # variables.tf's timeout rule counts on this number
  # The cluster's start is polled (stepfunctions/pipeline.asl.json, "Check the cluster"); variables.tf's
  # timeout rule counts on these four numbers: 60 s for RunJobFlow, then per check 15 s a call, 2
  # retries, 5 s then 10 s between them.
  cluster_request_timeout_seconds = 60
  cluster_check_timeout_seconds   = 15
  cluster_check_retries           = 2
  cluster_check_retry_seconds     = 5
  cluster_checks                  = ceil(var.timeouts.cluster_start_timeout_seconds / var.timeouts.cluster_check_seconds)

  definition = templatefile("${path.module}/../../../stepfunctions/pipeline.asl.json", {
    release_label                   = var.emr_release_label
    service_role                    = var.emr_service_role
    instance_profile                = var.emr_instance_profile
    security_configuration          = var.security_configuration
    log_uri                         = var.log_uri
    log_encryption_key_arn          = var.log_encryption_key_arn
    subnet_id                       = var.subnet_id
    primary_instance_type           = var.instances.primary_instance_type
    core_instance_type              = var.instances.core_instance_type
    core_on_demand_units            = var.instances.core_use_spot ? 0 : var.instances.core_instance_count
    core_spot_units                 = var.instances.core_use_spot ? var.instances.core_instance_count : 0
    idle_timeout_seconds            = var.timeouts.idle_timeout_seconds
    step_timeout_seconds            = var.timeouts.step_timeout_seconds
    pipeline_timeout_seconds        = var.timeouts.pipeline_timeout_seconds
    step_retries                    = var.timeouts.step_retries
    retry_interval_seconds          = var.timeouts.retry_interval_seconds
    cluster_request_timeout_seconds = local.cluster_request_timeout_seconds
    cluster_check_seconds           = var.timeouts.cluster_check_seconds
    cluster_check_timeout_seconds   = local.cluster_check_timeout_seconds
    cluster_check_retries           = local.cluster_check_retries
    cluster_check_retry_seconds     = local.cluster_check_retry_seconds
    cluster_checks                  = local.cluster_checks
    cluster_start_timeout_seconds   = var.timeouts.cluster_start_timeout_seconds
    termination_timeout_seconds     = var.timeouts.termination_timeout_seconds
    termination_retries             = local.termination_retries
  })
}
