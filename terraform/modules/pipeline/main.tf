locals {
  emr_log_uri = "s3://${var.bucket_name}/${var.prefixes.logs}emr/" # EMR adds CLUSTER_ID/ below it
}

module "definition" {
  source                 = "../state-machine-definition"
  emr_release_label      = var.emr.release_label
  emr_service_role       = var.emr_service_role_name
  emr_instance_profile   = var.emr_instance_profile_name
  security_configuration = aws_emr_security_configuration.at_rest.name
  log_uri                = local.emr_log_uri
  log_encryption_key_arn = var.kms_key_arn
  subnet_id              = var.subnet_id
  instances = {
    primary_instance_type = var.emr.primary_instance_type
    core_instance_type    = var.emr.core_instance_type
    core_instance_count   = var.emr.core_instance_count
    core_use_spot         = var.emr.core_use_spot
  }
  timeouts = {
    idle_timeout_seconds     = var.emr.idle_timeout_seconds
    step_timeout_seconds     = var.emr.step_timeout_seconds
    pipeline_timeout_seconds = var.emr.pipeline_timeout_seconds
  }
}

# /aws/vendedlogs/ is the prefix AWS recommends for Step Functions logs (it keeps the
# CloudWatch Logs resource policy small): docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
resource "aws_cloudwatch_log_group" "executions" {
  #checkov:skip=CKV_AWS_338:GDPR storage limitation: execution logs are kept days, not a year (var.log_retention_days, 30 at most).
  name              = "/aws/vendedlogs/states/${var.name_prefix}-pipeline"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "pipeline" {
  #checkov:skip=CKV_AWS_285:Execution data stays out of the logs on purpose (GDPR): inputs name users' photos; states, errors and causes are still logged.
  name       = var.state_machine_name
  type       = "STANDARD"
  role_arn   = var.step_functions_role_arn
  definition = module.definition.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.executions.arn}:*"
    include_execution_data = false # inputs hold S3 paths of users' photos: keep them out of logs
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags = var.tags
}

# At rest: S3 data written by EMR with SSE-KMS, local and EBS disks encrypted with the same key.
# In transit encryption needs a TLS certificate bundle staged in S3 (PEM zip); it is off until
# one is provided, and traffic stays inside the cluster's subnet.
resource "aws_emr_security_configuration" "at_rest" {
  #checkov:skip=CKV_AWS_351:In-transit encryption needs a certificate bundle that the platform has no CA to issue yet; node traffic stays in the cluster's own subnet. Follow-up in terraform/README.md.
  name = "${var.name_prefix}-at-rest"
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableInTransitEncryption = false
      EnableAtRestEncryption    = true
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = { EncryptionMode = "SSE-KMS", AwsKmsKey = var.kms_key_arn }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
    }
  })
}
