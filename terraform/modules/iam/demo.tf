# The interactive demo cluster (`fruits demo-start`) runs with the node role above. Its primary
# node registers with Session Manager, so JupyterHub is reached by port forwarding with no
# inbound port and no key pair; JupyterHub saves notebooks under jupyter/, the fixed path of
# EMR's S3 persistence (encrypted with the bucket's key, which UseTheBucketKey already grants).
# Pipeline runs use neither. Session Manager's minimal instance permissions:
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
  statement {
    sid       = "SaveNotebooks"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.bucket}/jupyter/*"]
  }
}

resource "aws_iam_role_policy" "emr_nodes_interactive" {
  name   = "session-manager-and-notebooks"
  role   = aws_iam_role.emr_nodes.id
  policy = data.aws_iam_policy_document.nodes_interactive.json
}
