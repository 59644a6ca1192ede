# The people who open the demo notebook (`fruits demo-start`, `demo-status`, `demo-stop`, and the
# Session Manager command demo-status prints): a managed policy to attach beside the operator
# policy (operator.tf), which already lists and describes clusters and reads the artifacts.
# Each call's action and resource: docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticmapreduce.html,
# list_amazons3.html, list_awssystemsmanager.html; compliance/operator_calls.py holds the mapping, and
# tests/cloud/test_demo_operator_permissions.py checks every call of the demo's path.
locals {
  # Session Manager's port forwarding document is AWS's own: no account in its ARN
  # (docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-specify-session-document.html).
  port_forwarding_documents = [for r in var.allowed_regions : "arn:${local.partition}:ssm:${r}::document/AWS-StartPortForwardingSession"]
}

data "aws_iam_policy_document" "demo_operator" {
  statement {
    # demo-start puts the notebook under the notebooks prefix, where JupyterHub's S3 persistence reads it.
    sid       = "PutAndReadTheNotebooks"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${local.bucket}/${var.prefixes.notebooks}*"]
  }
  statement {
    # RunJobFlow has no resource type ("*"); the request must tag the cluster as a demo's, the way
    # AWS's own full-access policy scopes RunJobFlow by aws:RequestTag
    # (docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEMRFullAccessPolicy_v2.html).
    sid       = "StartDemoClustersOnly"
    actions   = ["elasticmapreduce:RunJobFlow"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/fruits:demo"
      values   = ["true"]
    }
  }
  statement {
    # The demo's RunJobFlow attaches its idle timeout, which needs this permission on the cluster
    # (docs.aws.amazon.com/emr/latest/ManagementGuide/emr-auto-termination-policy.html, "Permissions
    # to use auto-termination"). No tag condition: AWS does not say which tags this check sees while
    # the cluster is being created, and the action can only set when an idle cluster ends.
    sid       = "AttachTheIdleTimeout"
    actions   = ["elasticmapreduce:PutAutoTerminationPolicy"]
    resources = local.clusters
  }
  statement {
    # demo-status finds the primary node and prices the nodes.
    sid       = "SeeTheDemoNodes"
    actions   = ["elasticmapreduce:ListInstanceGroups", "elasticmapreduce:ListInstances"]
    resources = local.clusters
  }
  statement {
    sid       = "StopDemoClustersOnly"
    actions   = ["elasticmapreduce:TerminateJobFlows"]
    resources = local.clusters
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/fruits:demo"
      values   = ["true"]
    }
  }
  # RunJobFlow passes the EMR service role and the demo nodes' instance profile; each role to its
  # own service, as AWS's EMR full-access v2 policy pairs them:
  # docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-policy-fullaccess-v2.html
  statement {
    sid       = "PassTheServiceRoleToEmrOnly"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_service.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["elasticmapreduce.amazonaws.com"]
    }
  }
  statement {
    sid       = "PassTheDemoNodeRoleToEc2Only"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_demo_nodes.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
  # EMR creates its cleanup service-linked role on an account's first cluster, with the
  # permissions of RunJobFlow's caller:
  # docs.aws.amazon.com/emr/latest/ManagementGuide/using-service-linked-roles-cleanup.html
  statement {
    sid       = "CreateTheEmrCleanupServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/aws-service-role/elasticmapreduce.amazonaws.com*/AWSServiceRoleForEMRCleanup*"]
    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticmapreduce.amazonaws.com"]
    }
  }
  statement {
    # The port forwarding session to JupyterHub: on the demo's primary node and with that document
    # only. RunJobFlow's tags "propagate to Amazon EC2 instances" (docs.aws.amazon.com/emr/latest/
    # APIReference/API_RunJobFlow.html, Tags): the node carries fruits:demo.
    sid       = "ForwardAPortToTheDemoPrimary"
    actions   = ["ssm:StartSession"]
    resources = local.instances
    condition {
      test     = "StringEquals"
      variable = "ssm:resourceTag/fruits:demo"
      values   = ["true"]
    }
  }
  statement {
    sid       = "WithThePortForwardingDocument"
    actions   = ["ssm:StartSession"]
    resources = local.port_forwarding_documents
  }
}

resource "aws_iam_policy" "demo_operator" {
  name        = "${var.name_prefix}-demo-operator"
  description = "Open the Fruits! demo notebook: start, see, open and stop the demo EMR cluster (with the operator policy)."
  policy      = data.aws_iam_policy_document.demo_operator.json
  tags        = var.tags
}
