# Where the transient clusters run: one private subnet (no route to the internet, no public
# address), the way Security Hub's EMR.1 asks for ("launch ... in a VPC with a private subnet":
# docs.aws.amazon.com/securityhub/latest/userguide/emr-controls.html). EMR reaches a cluster in a
# private subnet through its own service-access network interface; a cluster in a subnet routed to
# an internet gateway is a public-subnet cluster, which EMR reaches only over the nodes' public
# addresses ("EMR cannot communicate with clusters in public subnets through a NAT device":
# docs.aws.amazon.com/emr/latest/ManagementGuide/emr-clusters-in-a-vpc.html). What the nodes call:
# - S3 (the bucket, the wheelhouse the bootstrap installs from, EMR's logs and Amazon Linux 2023's
#   dnf repositories, which are S3 buckets): the free gateway endpoint. The private-subnet section of
#   the page above asks for at least a route to EMR's log bucket and the Amazon Linux repository.
# - KMS: local-disk encryption (the security configuration's AwsKms provider) makes each node ask
#   the key for a data key; a private subnet reaches KMS only through an interface endpoint
#   (docs.aws.amazon.com/kms/latest/developerguide/kms-vpc-endpoint.html). About $0.01 an hour.
# - Session Manager, for the demo cluster's port forwarding only: ssm, ssmmessages and ec2messages
#   endpoints (docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html), off
#   unless session_manager_endpoints is set, as each costs about $0.01 an hour, cluster or not.
# No NAT gateway and no internet gateway: nothing on the nodes downloads from the internet (the
# weights are staged in the bucket), and nothing listens from outside: EMR manages the security
# groups and its block-public-access setting stays on.
# docs.aws.amazon.com/emr/latest/ManagementGuide/emr-vpc-launching-job-flows.html
#
# The EMR service role's AWS-managed policy (AmazonEMRServicePolicy_v2) acts only on resources
# tagged for-use-with-amazon-emr-managed-policies = true: it creates EMR's default security groups
# only in a VPC with that tag, and launches instances and network interfaces (the private subnet's
# service-access interface too) only in a subnet (and security groups) with it. Both are tagged
# here. Policy JSON and statements:
# docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEMRServicePolicy_v2.html
# docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-iam-policies.html
locals {
  emr_managed = { "for-use-with-amazon-emr-managed-policies" = "true" }
  # Interface endpoints: KMS always, Session Manager's three for the demo when asked for.
  interface_endpoints = concat(["kms"], var.session_manager_endpoints ? ["ssm", "ssmmessages", "ec2messages"] : [])
  kms_endpoint_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ThePlatformKeyOnly"
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
      Resource  = var.kms_key_arn
      Condition = { StringEquals = { "aws:PrincipalAccount" = split(":", var.kms_key_arn)[4] } } # the key's own account
    }]
  })
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

# The subnet's own route table: the VPC's local range and the S3 gateway endpoint's prefix list,
# nothing else (no default route: the subnet stays private).
resource "aws_route_table" "emr" {
  vpc_id = aws_vpc.emr.id
  tags   = merge(var.tags, { Name = "${var.name_prefix}-emr" })
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

# HTTPS from the VPC to the interface endpoints, nothing else (Terraform removes AWS's default
# allow-all egress rule of a group it creates; an endpoint answers, it does not call out).
resource "aws_security_group" "endpoints" {
  name        = "${var.name_prefix}-endpoints"
  description = "HTTPS from the clusters' VPC to its interface endpoints"
  vpc_id      = aws_vpc.emr.id
  ingress {
    description = "HTTPS from the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.cidr_block]
  }
  tags = merge(var.tags, { Name = "${var.name_prefix}-endpoints" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(local.interface_endpoints)
  vpc_id              = aws_vpc.emr.id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.emr.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true # the nodes call kms.REGION.amazonaws.com as usual and reach the endpoint
  # The KMS endpoint serves the platform's key only: a node cannot use it to reach another key.
  policy = each.key == "kms" ? local.kms_endpoint_policy : null
  tags   = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}
