# terraform test: bucket names S3 would refuse, or that HTTPS cannot reach in the virtual-hosted
# style, are refused at plan. The offline provider (3.39) cannot load this module's bucket
# resources, so compliance/terraform_checks.py runs this file against a copy of variables.tf; with
# a current provider it runs in place too.
mock_provider "aws" {}

variables {
  name_prefix           = "fruits"
  region                = "eu-west-3"
  key_user_arns         = ["arn:aws:iam::111122223333:role/fruits-emr-nodes"]
  log_group_name_prefix = "/aws/vendedlogs/states/fruits-"
}

run "accepts_a_plain_bucket_name" {
  command = plan
  variables { bucket_name = "fruits-data-2026" }
}

# docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html: reserved prefixes and
# suffixes, 3 to 63 lowercase letters, digits, hyphens (and dots), a letter or digit at each end.
run "refuses_the_reserved_prefix_xn" {
  command = plan
  variables { bucket_name = "xn--fruits" }
  expect_failures = [var.bucket_name]
}

run "refuses_the_reserved_prefix_sthree" {
  command = plan
  variables { bucket_name = "sthree-fruits" }
  expect_failures = [var.bucket_name]
}

run "refuses_the_reserved_suffix_s3alias" {
  command = plan
  variables { bucket_name = "fruits-s3alias" }
  expect_failures = [var.bucket_name]
}

run "refuses_capitals_and_a_trailing_hyphen" {
  command = plan
  variables { bucket_name = "Fruits-" }
  expect_failures = [var.bucket_name]
}

run "refuses_64_characters" {
  command = plan
  variables { bucket_name = join("", [for n in range(64) : "a"]) }
  expect_failures = [var.bucket_name]
}

# S3's wildcard certificate matches only virtual-hosted buckets without a dot, and the bucket
# policy refuses anything but HTTPS: docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
run "refuses_a_dot" {
  command = plan
  variables { bucket_name = "fruits.data" }
  expect_failures = [var.bucket_name]
}

# The default bucket name starts with name_prefix.
run "refuses_a_name_prefix_that_makes_a_reserved_bucket_name" {
  command = plan
  variables { name_prefix = "sthree-prod" }
  expect_failures = [var.name_prefix]
}

run "accepts_the_default_name" {
  command = plan
}
