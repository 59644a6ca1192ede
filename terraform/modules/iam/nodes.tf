# The cluster nodes: read images and artifacts, write results and logs, keep the feature store,
# use the key. Nothing else.
data "aws_iam_policy_document" "nodes_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "nodes" {
  statement {
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket]
  }
  statement {
    sid       = "ReadImagesAndArtifacts"
    actions   = ["s3:GetObject"]
    resources = [for prefix in ["images", "artifacts", "results"] : "${local.bucket}/${var.prefixes[prefix]}*"]
  }
  statement {
    sid       = "WriteResultsAndLogs"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [for prefix in ["results", "logs", "tmp"] : "${local.bucket}/${var.prefixes[prefix]}*"]
  }
  statement {
    # The extract step reads stored features, appends a run's new ones, and a purge (the right to
    # erasure) deletes rewritten batches; S3A's rename of a commit file is a copy and a delete.
    sid       = "KeepTheFeatureStore"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket}/${var.prefixes.feature_store}*"]
  }
  statement {
    sid       = "UseTheBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "emr_nodes" {
  name               = "${var.name_prefix}-emr-nodes"
  assume_role_policy = data.aws_iam_policy_document.nodes_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "emr_nodes" {
  name   = "read-images-write-results"
  role   = aws_iam_role.emr_nodes.id
  policy = data.aws_iam_policy_document.nodes.json
}

resource "aws_iam_role_policy" "emr_nodes_region_guard" {
  name   = "deny-outside-eu"
  role   = aws_iam_role.emr_nodes.id
  policy = data.aws_iam_policy_document.deny_outside_eu.json
}

resource "aws_iam_instance_profile" "emr_nodes" {
  name = "${var.name_prefix}-emr-nodes"
  role = aws_iam_role.emr_nodes.name
}
