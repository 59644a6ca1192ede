# One bucket for the whole platform, under the prefixes in local.prefixes. Private, versioned,
# SSE-KMS with the module's key, TLS only, and no upload encrypted with anything else.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = var.region # passed in: data.aws_region's `name` is deprecated in aws provider 6
  bucket    = coalesce(var.bucket_name, "${var.name_prefix}-${local.account}-${local.region}")
  # notebooks: EMR JupyterHub's S3 persistence writes to jupyter/USER/, a path it does not let us choose.
  # feature_store: features kept between runs (one store per dataset); outside tmp/, so they never expire.
  prefixes = { images = "images/", artifacts = "artifacts/", results = "results/", logs = "logs/", tmp = "tmp/", notebooks = "jupyter/", feature_store = "feature-store/" }
}

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:No cross-region replication on purpose: a copy outside the region would take users' photos out of the chosen EU region; versioning and KMS protect the data.
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket of personal request data; CloudTrail data events are the audit trail to turn on at account level.
  #checkov:skip=CKV2_AWS_62:No event notifications: runs are started by the CLI, nothing reacts to uploads.
  bucket        = local.bucket
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs are off: the bucket policy alone decides
  }
}

resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true # one data key per bucket and hour, not per object: fewer KMS calls
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    id     = "abort-incomplete-uploads-and-expire-old-versions"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.retention_days.multipart
    }
    noncurrent_version_expiration {
      noncurrent_days = var.retention_days.noncurrent
    }
  }
  rule {
    id     = "expire-temporary-files"
    status = "Enabled"
    filter {
      prefix = local.prefixes.tmp
    }
    expiration {
      days = var.retention_days.tmp
    }
  }
  rule {
    # The right to erasure: a purge deletes the features of a deleted photo, and versioning keeps
    # them as noncurrent versions; here those go after a day, not 30. Where rules overlap, S3 applies
    # the shortest expiration: docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html
    id     = "erase-purged-features"
    status = "Enabled"
    filter {
      prefix = local.prefixes.feature_store
    }
    noncurrent_version_expiration {
      noncurrent_days = var.retention_days.erased_features
    }
    expiration {
      expired_object_delete_marker = true # the delete markers left once their versions are gone
    }
  }
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {
      prefix = local.prefixes.logs
    }
    expiration {
      days = var.retention_days.logs
    }
  }
  depends_on = [aws_s3_bucket_versioning.data]
}

resource "aws_s3_bucket_policy" "data" {
  bucket     = aws_s3_bucket.data.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.data]
}
