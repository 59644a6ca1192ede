output "state_machine_arn" {
  description = "ARN of the pipeline's state machine (the CLI starts executions of it)."
  value       = aws_sfn_state_machine.pipeline.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.pipeline.name
}

output "log_group_name" {
  description = "CloudWatch log group of the executions."
  value       = aws_cloudwatch_log_group.executions.name
}

output "log_group_arn" {
  description = "ARN of that log group."
  value       = aws_cloudwatch_log_group.executions.arn
}

output "security_configuration_name" {
  description = "EMR security configuration the clusters use."
  value       = aws_emr_security_configuration.at_rest.name
}

output "emr_log_uri" {
  description = "Where EMR writes the clusters' logs (the state machine's LogUri)."
  value       = local.emr_log_uri
}
