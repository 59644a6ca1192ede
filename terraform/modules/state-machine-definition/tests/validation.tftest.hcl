# terraform test: the definition renders, and bad settings are refused (no provider needed).
variables {
  emr_service_role       = "fruits-emr-service"
  emr_instance_profile   = "fruits-emr-nodes"
  security_configuration = "fruits-at-rest"
  log_uri                = "s3://fruits-bucket/logs/emr/"
  subnet_id              = "subnet-0123456789abcdef0"
  log_encryption_key_arn = "arn:aws:kms:eu-west-3:111122223333:key/11111111-2222-3333-4444-555555555555"
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
  assert {
    # Without it EMR uploads its logs with AES-256, which the bucket policy refuses.
    condition     = jsondecode(output.definition).States["Create EMR cluster"].Parameters.LogEncryptionKmsKeyId == var.log_encryption_key_arn
    error_message = "EMR must encrypt the logs it uploads with the platform's key (LogEncryptionKmsKeyId)."
  }
  assert {
    condition     = alltrue([for name in ["Create EMR cluster", "Check the cluster", "Terminate cluster", "Terminate cluster after failure"] : can(jsondecode(output.definition).States[name].TimeoutSeconds)])
    error_message = "Creating and terminating the cluster must time out too, or a stuck call outlives the execution."
  }
}

run "refuses_a_pipeline_timeout_that_the_retries_can_outlive" {
  # 2 steps x 3 attempts x 1 h, plus backoff, cluster start (30 checks) and termination: about 7.9 h > 7 h.
  command = plan
  variables { timeouts = { step_timeout_seconds = 3600, step_retries = 2, pipeline_timeout_seconds = 25200 } }
  expect_failures = [var.timeouts]
}

run "accepts_a_pipeline_timeout_above_the_worst_case" {
  command = plan
  variables { timeouts = { step_timeout_seconds = 3600, step_retries = 2, pipeline_timeout_seconds = 28500 } }
}

run "checks_the_cluster_start_until_its_timeout" {
  command = plan
  variables { timeouts = { cluster_start_timeout_seconds = 1750, cluster_check_seconds = 60 } }
  assert {
    condition     = jsondecode(output.definition).States["Is the cluster ready?"].Choices[2].NumericGreaterThanEquals == 30
    error_message = "29 checks a minute apart would give up before 1,750 s: the count must round up."
  }
  assert {
    condition     = jsondecode(output.definition).States["Wait for the cluster"].Seconds == 60
    error_message = "The checks must be cluster_check_seconds apart."
  }
}

run "refuses_more_checks_than_the_history_holds" {
  command = plan
  variables { timeouts = { cluster_start_timeout_seconds = 1800, cluster_check_seconds = 1, pipeline_timeout_seconds = 200000 } }
  expect_failures = [var.timeouts]
}

run "refuses_checks_further_apart_than_the_start_timeout" {
  command = plan
  variables { timeouts = { cluster_start_timeout_seconds = 600, cluster_check_seconds = 900 } }
  expect_failures = [var.timeouts]
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

run "refuses_a_graviton_core_type" {
  command = plan
  variables { instances = { core_instance_type = "c7gn.2xlarge" } }
  expect_failures = [var.instances]
}

run "refuses_a_graviton_primary_type" {
  command = plan
  variables { instances = { primary_instance_type = "m6g.xlarge" } }
  expect_failures = [var.instances]
}

run "refuses_the_first_graviton" {
  command = plan
  variables { instances = { core_instance_type = "a1.xlarge" } }
  expect_failures = [var.instances]
}

run "refuses_a_type_that_is_no_type" {
  command = plan
  variables { instances = { core_instance_type = "m5 xlarge" } }
  expect_failures = [var.instances]
}

run "accepts_x86_64_types" {
  command = plan
  variables { instances = { primary_instance_type = "m7i-flex.large", core_instance_type = "g4dn.xlarge" } }
  assert {
    condition     = jsondecode(output.definition).States["Create EMR cluster"].Parameters.Instances.InstanceFleets[1].InstanceTypeConfigs[0].InstanceType == "g4dn.xlarge"
    error_message = "An x86_64 type must be accepted and rendered."
  }
}

# RunJobFlow's AutoTerminationPolicy takes an IdleTimeout of 60 s to 604,800 s (seven days), a
# Long: docs.aws.amazon.com/emr/latest/APIReference/API_AutoTerminationPolicy.html. Terraform would
# deploy a definition with more, and the first run would fail at RunJobFlow.
run "refuses_an_idle_timeout_over_seven_days" {
  command = plan
  variables { timeouts = { idle_timeout_seconds = 604801 } }
  expect_failures = [var.timeouts]
}

run "refuses_an_idle_timeout_that_is_no_whole_number" {
  command = plan
  variables { timeouts = { idle_timeout_seconds = 1800.5 } }
  expect_failures = [var.timeouts]
}

run "accepts_an_idle_timeout_of_seven_days" {
  command = plan
  variables { timeouts = { idle_timeout_seconds = 604800 } }
  assert {
    condition     = jsondecode(output.definition).States["Create EMR cluster"].Parameters.AutoTerminationPolicy.IdleTimeout == 604800
    error_message = "Seven days is the longest idle timeout EMR accepts, and must be rendered."
  }
}

# state-task.html: TimeoutSeconds "must be a positive, non-zero integer"; a Retrier's IntervalSeconds
# at least 1. The worst-case rule alone let these through (a zero step timeout only shrinks the sum).
run "refuses_a_zero_step_timeout" {
  command = plan
  variables { timeouts = { step_timeout_seconds = 0 } }
  expect_failures = [var.timeouts]
}

run "refuses_a_fractional_pipeline_timeout" {
  command = plan
  variables { timeouts = { pipeline_timeout_seconds = 50400.5 } }
  expect_failures = [var.timeouts]
}

run "refuses_a_fractional_retry_interval" {
  command = plan
  variables { timeouts = { retry_interval_seconds = 0.5 } }
  expect_failures = [var.timeouts]
}

run "refuses_fractional_retries" {
  command = plan
  variables { timeouts = { step_retries = 1.5 } }
  expect_failures = [var.timeouts]
}
