# terraform test: the definition renders, and bad settings are refused (no provider needed).
variables {
  emr_service_role       = "fruits-emr-service"
  emr_instance_profile   = "fruits-emr-nodes"
  security_configuration = "fruits-at-rest"
  log_uri                = "s3://fruits-bucket/logs/emr/"
  subnet_id              = "subnet-0123456789abcdef0"
}

run "renders_spot_core_nodes" {
  command = plan
  assert {
    condition     = jsondecode(output.definition).States["Create EMR cluster"].Parameters.Instances.InstanceFleets[1].TargetSpotCapacity == 2
    error_message = "Spot core capacity should be the core instance count by default."
  }
  assert {
    condition     = jsondecode(output.definition).States["Create EMR cluster"].Parameters.ReleaseLabel == "emr-7.13.0"
    error_message = "The default release must be emr-7.13.0."
  }
}

run "refuses_emr_6" {
  command = plan
  variables { emr_release_label = "emr-6.15.0" }
  expect_failures = [var.emr_release_label]
}

run "refuses_a_pipeline_timeout_shorter_than_the_steps" {
  command = plan
  variables { timeouts = { step_timeout_seconds = 7200, pipeline_timeout_seconds = 7200 } }
  expect_failures = [var.timeouts]
}

run "refuses_zero_core_nodes" {
  command = plan
  variables { instances = { core_instance_count = 0 } }
  expect_failures = [var.instances]
}
