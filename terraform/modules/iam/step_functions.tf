data "aws_iam_policy_document" "step_functions_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

data "aws_iam_policy_document" "step_functions" {
  statement {
    sid       = "CreateClusters"
    actions   = ["elasticmapreduce:RunJobFlow"]
    resources = ["*"] # RunJobFlow has no resource-level permissions
  }
  statement {
    sid       = "DriveTheirStepsAndTerminateThem"
    actions   = ["elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows", "elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeStep", "elasticmapreduce:CancelSteps"]
    resources = local.clusters
  }
  statement {
    # RunJobFlow's AutoTerminationPolicy (the idle timeout that ends a cluster left behind) is
    # attached with this permission: docs.aws.amazon.com/emr/latest/ManagementGuide/emr-auto-termination-policy.html
    # ("Permissions to use auto-termination"); compliance/state_machine_calls.py holds it.
    sid       = "AttachTheIdleTimeout"
    actions   = ["elasticmapreduce:PutAutoTerminationPolicy"]
    resources = local.clusters
  }
  statement {
    sid       = "ManagedRulesOfTheSyncIntegrations"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = local.emr_rules
  }
  # Each role to its own service, as AWS's own EMR full-access v2 policy pairs them:
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
    sid       = "PassTheNodeRoleToEc2Only"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_nodes.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
  # EMR creates its cleanup service-linked role on an account's first cluster, with the
  # permissions of RunJobFlow's caller. Only that role, for EMR only:
  # docs.aws.amazon.com/emr/latest/ManagementGuide/using-service-linked-roles-cleanup.html
  # docs.aws.amazon.com/step-functions/latest/dg/emr-iam.html (createCluster)
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
    sid = "DeliverExecutionLogs"
    # CloudWatch Logs vended delivery does not support resource-level permissions:
    # docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
    actions   = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
    resources = ["*"]
  }
  statement {
    sid       = "XRayTracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

resource "aws_iam_role" "step_functions" {
  name               = "${var.name_prefix}-step-functions"
  assume_role_policy = data.aws_iam_policy_document.step_functions_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "step_functions" {
  name   = "run-the-pipeline"
  role   = aws_iam_role.step_functions.id
  policy = data.aws_iam_policy_document.step_functions.json
}

resource "aws_iam_role_policy" "step_functions_region_guard" {
  name   = "deny-outside-eu"
  role   = aws_iam_role.step_functions.id
  policy = data.aws_iam_policy_document.deny_outside_eu.json
}
