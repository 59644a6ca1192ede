# What the CLI reads (`terraform output -json`): fruits commands find the bucket, the key, the
# state machine and the region here.
output "region" {
  description = "Region of every resource."
  value       = var.region
}

output "bucket_name" {
  description = "The platform's bucket."
  value       = module.storage.bucket_name
}

output "prefixes" {
  description = "Where images, artifacts, results, logs, temporary files and notebooks live in the bucket: the one layout every module and the CLI use."
  value       = module.storage.prefixes
}

output "kms_key_arn" {
  description = "Customer-managed key of the bucket, the logs and the clusters' disks."
  value       = module.storage.kms_key_arn
}

output "state_machine_arn" {
  description = "The pipeline's state machine: `fruits start` runs it."
  value       = module.pipeline.state_machine_arn
}

output "state_machine_name" {
  description = "Its name, as the Step Functions console shows it."
  value       = module.pipeline.state_machine_name
}

output "log_group_name" {
  description = "CloudWatch log group of the executions."
  value       = module.pipeline.log_group_name
}

output "operator_policy_arn" {
  description = "Attach to the roles of the people who run the platform (README: who may do what); they also go in data_user_arns, for the key."
  value       = module.iam.operator_policy_arn
}

output "demo_operator_policy_arn" {
  description = "Attach, beside operator_policy_arn, to the roles of the people who open the demo notebook (docs/demo-cluster.md)."
  value       = module.iam.demo_operator_policy_arn
}

output "step_functions_role_arn" {
  description = "Execution role of the state machine."
  value       = module.iam.step_functions_role_arn
}

output "emr_service_role_arn" {
  description = "EMR service role."
  value       = module.iam.emr_service_role_arn
}

output "emr_instance_profile_arn" {
  description = "Instance profile of the cluster nodes."
  value       = module.iam.emr_instance_profile_arn
}

output "subnet_id" {
  description = "Subnet of the clusters."
  value       = coalesce(var.subnet_id, one(module.network[*].subnet_id))
}

# What `fruits demo-start` needs to start its cluster exactly as the state machine does.
output "session_manager_reachable" {
  description = "Whether the demo cluster's nodes can reach Session Manager: false in the platform's VPC without session_manager_endpoints, null in your own subnet (unknown)."
  value       = var.subnet_id == null ? one(module.network[*].session_manager_reachable) : null
}

output "emr_release_label" {
  description = "EMR release of the clusters."
  value       = var.emr.release_label
}

output "emr_service_role_name" {
  description = "EMR service role (name, as RunJobFlow takes it)."
  value       = module.iam.emr_service_role_name
}

output "emr_instance_profile_name" {
  description = "Instance profile of the cluster nodes (name, as RunJobFlow takes it)."
  value       = module.iam.emr_instance_profile_name
}

output "emr_demo_instance_profile_name" {
  description = "Instance profile of the demo cluster's nodes: the pipeline's data access, plus Session Manager and jupyter/."
  value       = module.iam.emr_demo_instance_profile_name
}

output "emr_security_configuration_name" {
  description = "EMR security configuration of the clusters (KMS at rest)."
  value       = module.pipeline.security_configuration_name
}

output "emr_log_uri" {
  description = "Where EMR writes the clusters' logs: the state machine's LogUri, under the logs prefix."
  value       = module.pipeline.emr_log_uri
}

# What `fruits watch`, `status` and `cost` price: the pipeline cluster as the state machine asks for it.
output "emr_instances" {
  description = "The pipeline cluster's nodes: one primary of primary_instance_type, core_instance_count core nodes of core_instance_type (Spot when core_use_spot)."
  value = {
    primary_instance_type = var.emr.primary_instance_type
    core_instance_type    = var.emr.core_instance_type
    core_instance_count   = var.emr.core_instance_count
    core_use_spot         = var.emr.core_use_spot
  }
}

output "pipeline_timeouts" {
  description = "How long the state machine lets each EMR step and the whole run last before it stops them and tears the cluster down: `fruits cost` says when an estimate would not fit."
  value = {
    step_seconds     = var.emr.step_timeout_seconds
    pipeline_seconds = var.emr.pipeline_timeout_seconds
  }
}
