# Where the transient clusters run: one subnet with a route to the internet gateway and a free S3
# gateway endpoint, so bucket traffic stays on AWS's network. The nodes need no package index:
# the bootstrap installs the lock from the wheelhouse staged in the bucket, and Amazon Linux
# 2023's own dnf repositories are S3 buckets too, reached through the same endpoint. No NAT gateway: it would cost money every hour, cluster or not. Nothing
# listens from outside: EMR manages the security groups and its block-public-access setting
# stays on. docs.aws.amazon.com/emr/latest/ManagementGuide/emr-vpc-launching-job-flows.html
#
# The EMR service role's AWS-managed policy (AmazonEMRServicePolicy_v2) acts only on resources
# tagged for-use-with-amazon-emr-managed-policies = true: it creates EMR's default security groups
# only in a VPC with that tag, and launches instances and network interfaces only in a subnet
# (and security groups) with it. Both are tagged here. Policy JSON and statements:
# docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEMRServicePolicy_v2.html
# docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-iam-policies.html
locals {
  emr_managed = { "for-use-with-amazon-emr-managed-policies" = "true" }
}

resource "aws_vpc" "emr" {
  #checkov:skip=CKV2_AWS_11:No VPC flow logs: the subnet holds only transient clusters that accept no inbound traffic; turn them on with the account's logging baseline if required.
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true # EMR requires DNS hostnames
  tags                 = merge(var.tags, local.emr_managed, { Name = "${var.name_prefix}-emr" })
}

# The VPC's default security group: no rule at all, so nothing can use it by accident.
resource "aws_default_security_group" "closed" {
  vpc_id = aws_vpc.emr.id
  tags   = merge(var.tags, { Name = "${var.name_prefix}-default-closed" })
}

resource "aws_subnet" "emr" {
  vpc_id                  = aws_vpc.emr.id
  cidr_block              = cidrsubnet(var.cidr_block, 8, 0)
  availability_zone       = coalesce(var.availability_zone, "${var.region}a")
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, local.emr_managed, { Name = "${var.name_prefix}-emr" })
}

resource "aws_internet_gateway" "emr" {
  vpc_id = aws_vpc.emr.id
  tags   = merge(var.tags, { Name = "${var.name_prefix}-emr" })
}

resource "aws_route_table" "emr" {
  vpc_id = aws_vpc.emr.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.emr.id
  }
  tags = merge(var.tags, { Name = "${var.name_prefix}-emr" })
}

resource "aws_route_table_association" "emr" {
  subnet_id      = aws_subnet.emr.id
  route_table_id = aws_route_table.emr.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.emr.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.emr.id]
  tags              = merge(var.tags, { Name = "${var.name_prefix}-s3" })
}
