# terraform test with a mock AWS provider: what the clusters' network lets in and out.
mock_provider "aws" {}

variables {
  name_prefix = "fruits-test"
  region      = "eu-west-3"
}

run "one_private_by_default_subnet_and_a_gateway_endpoint" {
  command = apply
  assert {
    condition     = aws_subnet.emr.cidr_block == "10.42.0.0/24" && aws_subnet.emr.availability_zone == "eu-west-3a"
    error_message = "The cluster's subnet must be the first /24 of the VPC, in the region's zone a."
  }
  assert {
    condition     = aws_subnet.emr.map_public_ip_on_launch == false
    error_message = "Instances must not get a public address by default."
  }
  assert {
    condition     = aws_vpc_endpoint.s3.service_name == "com.amazonaws.eu-west-3.s3" && aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway"
    error_message = "Bucket traffic must go through the free S3 gateway endpoint of the region."
  }
  assert {
    # AmazonEMRServicePolicy_v2 creates EMR's security groups only in a tagged VPC, and launches
    # instances only in a tagged subnet (see main.tf).
    condition     = lookup(aws_vpc.emr.tags, "for-use-with-amazon-emr-managed-policies", "") == "true" && lookup(aws_subnet.emr.tags, "for-use-with-amazon-emr-managed-policies", "") == "true"
    error_message = "The VPC and the subnet must carry for-use-with-amazon-emr-managed-policies = true, or EMR cannot create its security groups and instances."
  }
  assert {
    condition     = length(aws_default_security_group.closed.ingress) == 0 && length(aws_default_security_group.closed.egress) == 0
    error_message = "The default security group must have no rule."
  }
}

run "refuses_a_small_range" {
  command = plan
  variables { cidr_block = "10.42.0.0/26" }
  expect_failures = [var.cidr_block]
}

run "refuses_a_region_outside_the_eu" {
  command = plan
  variables { region = "us-east-1" }
  expect_failures = [var.region]
}
