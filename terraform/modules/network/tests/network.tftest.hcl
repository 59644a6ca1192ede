# terraform test with a mock AWS provider: what the clusters' network lets in and out.
mock_provider "aws" {}

variables {
  name_prefix = "fruits-test"
  region      = "eu-west-3"
  kms_key_arn = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
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
    # A route to an internet gateway makes it a public subnet, which EMR reaches only over public
    # addresses (emr-clusters-in-a-vpc.html): the nodes have none, so the cluster would never start.
    condition     = length(aws_route_table.emr.route) == 0 && aws_route_table_association.emr.subnet_id == aws_subnet.emr.id
    error_message = "The clusters' subnet must be private: its route table holds no route besides the VPC's own and the S3 endpoint's."
  }
  assert {
    # Local-disk encryption asks KMS for a data key from each node (kms-vpc-endpoint.html).
    condition = (keys(aws_vpc_endpoint.interface) == ["kms"]
      && aws_vpc_endpoint.interface["kms"].service_name == "com.amazonaws.eu-west-3.kms"
      && aws_vpc_endpoint.interface["kms"].vpc_endpoint_type == "Interface"
      && aws_vpc_endpoint.interface["kms"].private_dns_enabled == true
    && aws_vpc_endpoint.interface["kms"].subnet_ids == toset([aws_subnet.emr.id]))
    error_message = "The nodes must reach KMS through an interface endpoint with private DNS in their subnet, and nothing else by default (each endpoint costs by the hour)."
  }
  assert {
    condition = (jsondecode(aws_vpc_endpoint.interface["kms"].policy).Statement[0].Resource == var.kms_key_arn
    && jsondecode(aws_vpc_endpoint.interface["kms"].policy).Statement[0].Condition.StringEquals["aws:PrincipalAccount"] == "123456789012")
    error_message = "The KMS endpoint must serve the platform's key only, to the key's own account."
  }
  assert {
    condition = (length(aws_security_group.endpoints.egress) == 0 && length(aws_security_group.endpoints.ingress) == 1
      && one(aws_security_group.endpoints.ingress).from_port == 443 && one(aws_security_group.endpoints.ingress).to_port == 443
    && toset(one(aws_security_group.endpoints.ingress).cidr_blocks) == toset(["10.42.0.0/16"]))
    error_message = "The endpoints' security group must let in HTTPS from the VPC only."
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

run "the_demo_adds_session_manager_s_three_endpoints" {
  command = apply
  variables { session_manager_endpoints = true }
  assert {
    condition = (toset(keys(aws_vpc_endpoint.interface)) == toset(["kms", "ssm", "ssmmessages", "ec2messages"])
    && alltrue([for name, endpoint in aws_vpc_endpoint.interface : endpoint.private_dns_enabled && endpoint.service_name == "com.amazonaws.eu-west-3.${name}"]))
    error_message = "Session Manager needs the ssm, ssmmessages and ec2messages endpoints, with private DNS."
  }
  assert {
    condition     = output.session_manager_reachable == true
    error_message = "The module must say the demo can reach Session Manager."
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

run "refuses_a_name_prefix_that_names_its_security_group_sg" {
  # API_CreateSecurityGroup.html: a group name "Can't start with sg-"; the endpoints' group is
  # NAME_PREFIX-endpoints, so apply would stop after the VPC and subnet were created.
  command = plan
  variables { name_prefix = "sg-fruits" }
  expect_failures = [var.name_prefix]
}
