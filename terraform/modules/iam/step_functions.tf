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
    sid       = "ManagedRulesOfTheSyncIntegrations"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = local.emr_rules
  }
  statement {
    sid       = "PassOnlyTheTwoEmrRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_service.arn, aws_iam_role.emr_nodes.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"]
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
