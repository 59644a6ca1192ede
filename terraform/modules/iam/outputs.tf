output "step_functions_role_arn" {
  description = "Execution role of the state machine."
  value       = aws_iam_role.step_functions.arn
}

output "emr_service_role_name" {
  description = "EMR service role (name, as RunJobFlow takes it)."
  value       = aws_iam_role.emr_service.name
}

output "emr_service_role_arn" {
  description = "EMR service role ARN."
  value       = aws_iam_role.emr_service.arn
}

output "emr_instance_profile_name" {
  description = "Instance profile of the cluster nodes (name, as RunJobFlow takes it)."
  value       = aws_iam_instance_profile.emr_nodes.name
}

output "emr_instance_profile_arn" {
  description = "Instance profile ARN."
  value       = aws_iam_instance_profile.emr_nodes.arn
}

output "emr_nodes_role_arn" {
  description = "Role of the cluster nodes (the KMS key policy names it)."
  value       = aws_iam_role.emr_nodes.arn
}

output "emr_demo_instance_profile_name" {
  description = "Instance profile of the demo cluster's nodes (name, as RunJobFlow takes it)."
  value       = aws_iam_instance_profile.emr_demo_nodes.name
}

output "emr_demo_nodes_role_arn" {
  description = "Role of the demo cluster's nodes (the KMS key policy names it)."
  value       = aws_iam_role.emr_demo_nodes.arn
}

output "operator_policy_arn" {
  description = "Managed policy for the people who upload images, start and follow runs and fetch results."
  value       = aws_iam_policy.operator.arn
}

output "demo_operator_policy_arn" {
  description = "Managed policy for the people who open the demo notebook, beside the operator policy."
  value       = aws_iam_policy.demo_operator.arn
}
