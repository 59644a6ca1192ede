# EMR service role: AWS's v2 managed policy acts only on resources tagged
# for-use-with-amazon-emr-managed-policies=true (the state machine tags its clusters):
# docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-iam-policies.html
data "aws_iam_policy_document" "emr_service_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name               = "${var.name_prefix}-emr-service"
  assume_role_policy = data.aws_iam_policy_document.emr_service_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "emr_service_passes_node_role" {
  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_nodes.arn, aws_iam_role.emr_demo_nodes.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "emr_service_passes_node_role" {
  name   = "pass-node-role"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service_passes_node_role.json
}

resource "aws_iam_role_policy" "emr_service_region_guard" {
  name   = "deny-outside-eu"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.deny_outside_eu.json
}

# Encrypted EBS volumes on the nodes: EC2 needs a grant on the key, which EMR creates with its
# service role. docs.aws.amazon.com/emr/latest/ManagementGuide/emr-encryption-enable.html
data "aws_iam_policy_document" "emr_service_uses_the_key" {
  statement {
    sid       = "GrantEbsTheKey"
    actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    resources = [var.kms_key_arn]
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
  statement {
    sid       = "EncryptVolumeKeys"
    actions   = ["kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "emr_service_uses_the_key" {
  name   = "encrypt-node-disks"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service_uses_the_key.json
}
