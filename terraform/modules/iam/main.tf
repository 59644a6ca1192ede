data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  bucket    = "arn:${local.partition}:s3:::${var.bucket_name}"
  # EMR clusters, and the EventBridge rules Step Functions manages for the two EMR .sync
  # integrations the definition uses, addStep.sync and terminateCluster.sync (the cluster is
  # created through the AWS SDK integration, which needs no rule):
  # docs.aws.amazon.com/step-functions/latest/dg/emr-iam.html
  clusters  = [for r in var.allowed_regions : "arn:${local.partition}:elasticmapreduce:${r}:${local.account}:cluster/*"]
  emr_rules = flatten([for r in var.allowed_regions : [for api in ["AddJobFlowSteps", "TerminateJobFlows"] : "arn:${local.partition}:events:${r}:${local.account}:rule/StepFunctionsGetEventForEMR${api}Rule"]])
  # The nodes' EC2 instances, for Session Manager (demo.tf).
  instances = [for r in var.allowed_regions : "arn:${local.partition}:ec2:${r}:${local.account}:instance/*"]
}

# Attached to every role: no call outside the allowed EU regions. Global services (IAM, STS's
# global endpoint) are exempted so the roles keep working.
data "aws_iam_policy_document" "deny_outside_eu" {
  statement {
    sid         = "DenyOutsideAllowedRegions"
    effect      = "Deny"
    not_actions = ["iam:*", "sts:*", "organizations:*", "support:*"]
    resources   = ["*"]
    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestedRegion"
      values   = var.allowed_regions
    }
  }
}
