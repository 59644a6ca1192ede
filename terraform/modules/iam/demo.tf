# The interactive demo cluster (`fruits demo-start`) has its own role and instance profile: the
# nodes' data access (nodes.tf) plus what only the demo needs. Its primary node registers with
# Session Manager, so JupyterHub is reached by port forwarding with no inbound port and no key
# pair; JupyterHub saves notebooks under the notebooks prefix (jupyter/), the fixed path of EMR's S3 persistence
# (encrypted with the bucket's key, which UseTheBucketKey already grants). Pipeline nodes get
# neither. Session Manager's minimal instance permissions:
# docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
data "aws_iam_policy_document" "nodes_interactive" {
  statement {
    sid       = "RegisterWithSessionManager"
    actions   = ["ssm:UpdateInstanceInformation"]
    resources = local.instances
  }
  statement {
    sid       = "SessionManagerChannels"
    actions   = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
    resources = ["*"] # ssmmessages has no resource-level permissions
  }
  # emr-jupyterhub-s3.html asks only for "permissions to the bucket". A large notebook is saved in
  # parts: creating, uploading and completing them is s3:PutObject, aborting a save the uploader
  # discards is s3:AbortMultipartUpload (docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html,
  # "Multipart upload and permissions"; list_amazons3.html); kms:Decrypt, which the parts need
  # with SSE-KMS, is UseTheBucketKey's. The uploader keeps its upload id and its parts' ETags, so
  # no s3:ListMultipartUploadParts or s3:ListBucketMultipartUploads: stale uploads go by the
  # lifecycle rule (compliance/access_matrix.yaml, tests/compliance/test_notebook_grants.py).
  statement {
    sid       = "SaveNotebooks"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket}/${var.prefixes.notebooks}*"]
  }
}

resource "aws_iam_role" "emr_demo_nodes" {
  name               = "${var.name_prefix}-emr-demo-nodes"
  assume_role_policy = data.aws_iam_policy_document.nodes_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "emr_demo_nodes" {
  name   = "read-images-write-results"
  role   = aws_iam_role.emr_demo_nodes.id
  policy = data.aws_iam_policy_document.nodes.json
}

resource "aws_iam_role_policy" "emr_demo_nodes_interactive" {
  name   = "session-manager-and-notebooks"
  role   = aws_iam_role.emr_demo_nodes.id
  policy = data.aws_iam_policy_document.nodes_interactive.json
}

resource "aws_iam_role_policy" "emr_demo_nodes_region_guard" {
  name   = "deny-outside-eu"
  role   = aws_iam_role.emr_demo_nodes.id
  policy = data.aws_iam_policy_document.deny_outside_eu.json
}

resource "aws_iam_instance_profile" "emr_demo_nodes" {
  name = "${var.name_prefix}-emr-demo-nodes"
  role = aws_iam_role.emr_demo_nodes.name
}
