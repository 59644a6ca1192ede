# The root's GDPR perimeter: only regions in EU member states. The offline provider cannot load
# the whole root (the storage module needs aws >= 4.0), so compliance/scan.py runs this file
# against a copy of the root's variables.tf; with a current provider it runs in place too.
mock_provider "aws" {}

run "paris_by_default" {
  command = plan
  assert {
    condition     = var.region == "eu-west-3"
    error_message = "The default region must be Paris (eu-west-3)."
  }
}

run "accepts_frankfurt" {
  command = plan
  variables { region = "eu-central-1" }
}

run "refuses_north_virginia" {
  command = plan
  variables { region = "us-east-1" }
  expect_failures = [var.region]
}

run "refuses_london_outside_the_eu" {
  command = plan
  variables { region = "eu-west-2" }
  expect_failures = [var.region]
}

run "refuses_zurich_outside_the_eu" {
  command = plan
  variables { region = "eu-central-2" }
  expect_failures = [var.region]
}
