# terraform test with a mock AWS provider (no account needed).
mock_provider "aws" {
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-3:111122223333:log-group:/aws/vendedlogs/states/fruits-test-pipeline" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-3:111122223333:stateMachine:fruits-test-pipeline" }
  }
}

variables {
  name_prefix               = "fruits-test"
  state_machine_name        = "fruits-test-pipeline"
  bucket_name               = "fruits-test-bucket"
  kms_key_arn               = "arn:aws:kms:eu-west-3:111122223333:key/11111111-2222-3333-4444-555555555555"
  step_functions_role_arn   = "arn:aws:iam::111122223333:role/fruits-test-sfn"
  emr_service_role_name     = "fruits-test-emr-service"
  emr_instance_profile_name = "fruits-test-emr-nodes"
  subnet_id                 = "subnet-0123456789abcdef0"
  prefixes                  = { images = "images/", artifacts = "artifacts/", results = "results/", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/" }
}

run "encrypted_logs_tracing_and_the_rendered_definition" {
  command = apply
  assert {
    condition     = aws_cloudwatch_log_group.executions.kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.executions.retention_in_days == 14
    error_message = "The execution logs must be KMS-encrypted with a short retention."
  }
  assert {
    condition     = aws_sfn_state_machine.pipeline.tracing_configuration[0].enabled
    error_message = "X-Ray tracing must be on."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.pipeline.definition).States["Create EMR cluster"].Parameters.SecurityConfiguration == "fruits-test-at-rest"
    error_message = "The cluster must use the module's security configuration."
  }
  assert {
    condition     = jsondecode(aws_emr_security_configuration.at_rest.configuration).EncryptionConfiguration.AtRestEncryptionConfiguration.S3EncryptionConfiguration.EncryptionMode == "SSE-KMS"
    error_message = "EMR must write S3 data with SSE-KMS."
  }
}

run "emr_logs_go_under_the_storage_logs_prefix" {
  command = apply
  variables {
    prefixes = { images = "images/", artifacts = "artifacts/", results = "results/", logs = "journal/", tmp = "tmp/", notebooks = "jupyter/" }
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.pipeline.definition).States["Create EMR cluster"].Parameters.LogUri == "s3://fruits-test-bucket/journal/emr/" && output.emr_log_uri == "s3://fruits-test-bucket/journal/emr/"
    error_message = "EMR's logs must go under the storage module's logs prefix, in the definition and in the output that demo-start reads."
  }
}

run "refuses_a_prefix_without_its_trailing_slash" {
  command = plan
  variables {
    prefixes = { images = "images/", artifacts = "artifacts/", results = "results/", logs = "logs", tmp = "tmp/", notebooks = "jupyter/" }
  }
  expect_failures = [var.prefixes]
}

run "refuses_a_long_log_retention" {
  command = plan
  variables { log_retention_days = 365 }
  expect_failures = [var.log_retention_days]
}

run "refuses_a_key_outside_the_eu" {
  command = plan
  variables { kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
  expect_failures = [var.kms_key_arn]
}
