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

# EMRFS (EMR's s3:// file system) keeps folders as empty "<folder>_$folder$" objects: creating one
# writes that marker ("This behavior occurs only when the Amazon EMR File System (EMRFS) tries to
# create a folder with an s3:// or s3n:// prefix": repost.aws/knowledge-center/emr-s3-empty-files),
# and it looks a folder up by its bare key first (HeadObject, which is s3:GetObject:
# docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). A step that writes under results/
# may touch the folder "results" itself: its key and marker lie outside "results/*". So each
# folder above the written prefixes, down to the prefix itself, may be looked up and its marker
# written or removed: those exact keys only, nothing else beside the prefixes.
locals {
  written_prefixes = [var.prefixes.results, var.prefixes.feature_store, var.prefixes.tmp]
  written_folders = distinct(flatten([for prefix in local.written_prefixes : [
    for depth in range(1, length(split("/", trimsuffix(prefix, "/"))) + 1) : join("/", slice(split("/", trimsuffix(prefix, "/")), 0, depth))
  ]]))
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
  # Multipart uploads: creating, uploading parts and completing are s3:PutObject, aborting is
  # s3:AbortMultipartUpload (Service Authorization Reference, list_amazons3.html). EMRFS's
  # S3-optimized committer uploads every output file in parts, completes at task commit and aborts
  # at task abort by the upload ids it keeps; a killed JVM's uploads are the lifecycle rule's
  # (docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-spark-committer-multipart.html). So no
  # s3:ListBucketMultipartUploads or s3:ListMultipartUploadParts (compliance/access_matrix.yaml).
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
    sid       = "LookUpTheWrittenFolders"
    actions   = ["s3:GetObject"]
    resources = flatten([for folder in local.written_folders : ["${local.bucket}/${folder}", "${local.bucket}/${folder}_$folder$"]])
  }
  statement {
    sid       = "KeepTheirFolderMarkers"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [for folder in local.written_folders : "${local.bucket}/${folder}_$folder$"]
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
