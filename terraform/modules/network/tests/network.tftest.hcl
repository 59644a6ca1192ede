# terraform test with a mock AWS provider: what the clusters' network lets in and out.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-3" }
  }
}

variables {
  name_prefix = "fruits-test"
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
    condition     = length(aws_default_security_group.closed.ingress) == 0 && length(aws_default_security_group.closed.egress) == 0
    error_message = "The default security group must have no rule."
  }
}

run "refuses_a_small_range" {
  command = plan
  variables { cidr_block = "10.42.0.0/26" }
  expect_failures = [var.cidr_block]
}
