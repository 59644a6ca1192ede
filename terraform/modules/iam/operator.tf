# The people who run the platform (`fruits upload`, `stage`, `start`, `status`, `watch`, `stop`,
# `runs`, `results`): a managed policy to attach to their roles, with what those commands call and nothing
# more. They must also be in data_user_arns: the key policy names the key's users and leaves it to
# IAM to grant them (docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html), so
# both this policy and the key policy must allow each use of the key.
# Each call's action and resource: docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
# and list_awsstepfunctions.html, list_amazonelasticmapreduce.html; compliance/operator_calls.py
# holds the mapping, and tests/cloud/test_operator_permissions.py checks every call the CLI makes.
locals {
  state_machines = [for r in var.allowed_regions : "arn:${local.partition}:states:${r}:${local.account}:stateMachine:${var.state_machine_name}"]
  executions     = [for r in var.allowed_regions : "arn:${local.partition}:states:${r}:${local.account}:execution:${var.state_machine_name}:*"]
}

data "aws_iam_policy_document" "operator" {
  statement {
    # ListObjectsV2 is s3:ListBucket (API_ListObjectsV2.html). Without it, HeadObject answers 403
    # instead of 404 for a key that is not there (API_HeadObject.html): `fruits start` would then
    # report a refusal where the answer is "run `fruits stage` first".
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket]
  }
  statement {
    # HeadObject and GetObject are s3:GetObject (API_HeadObject.html, API_GetObject.html).
    sid       = "ReadImagesArtifactsAndResults"
    actions   = ["s3:GetObject"]
    resources = [for prefix in ["images", "artifacts", "results"] : "${local.bucket}/${var.prefixes[prefix]}*"]
  }
  statement {
    sid       = "UploadImagesAndArtifacts"
    actions   = ["s3:PutObject"]
    resources = [for prefix in ["images", "artifacts"] : "${local.bucket}/${var.prefixes[prefix]}*"]
  }
  statement {
    # `fruits upload --delete-missing`: DeleteObjects needs s3:DeleteObject on each key, and so does
    # DeleteObject for a key its XML cannot carry
    # (docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html, API_DeleteObject.html). Images only.
    sid       = "DeleteImagesTheFolderLacks"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.bucket}/${var.prefixes["images"]}*"]
  }
  statement {
    # Uploading with SSE-KMS asks the key for a data key; reading an object decrypts it
    # (docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html, Permissions).
    sid       = "UseTheBucketKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "StartAndListRuns"
    actions   = ["states:StartExecution", "states:ListExecutions"]
    resources = local.state_machines
  }
  statement {
    sid       = "FollowAndStopRuns"
    actions   = ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"]
    resources = local.executions
  }
  statement {
    # `fruits watch` shows the cluster's state while a run holds one; `fruits stop` reads the tags.
    sid       = "SeeTheClusters"
    actions   = ["elasticmapreduce:DescribeCluster"]
    resources = local.clusters
  }
  statement {
    # `fruits stop` lists the live clusters to find the run's. ListClusters has no resource-level
    # permissions: "*" (docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticmapreduce.html).
    sid       = "ListTheClusters"
    actions   = ["elasticmapreduce:ListClusters"]
    resources = ["*"]
  }
  statement {
    # `fruits start` checks that EC2's Spot service-linked role exists before a run with Spot core
    # nodes (src/fruits/cloud/spot_role.py). iam:GetRole acts on role/PATH/NAME:
    # docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
    sid       = "CheckTheSpotRole"
    actions   = ["iam:GetRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"]
  }

  statement {
    # Step Functions does not terminate a stopped execution's cluster
    # (docs.aws.amazon.com/step-functions/latest/dg/connect-emr.html): `fruits stop` does, and
    # only for clusters the state machine tagged with a run id.
    sid       = "TerminateTheRunsClusters"
    actions   = ["elasticmapreduce:TerminateJobFlows"]
    resources = local.clusters
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/fruits:run-id"
      values   = ["false"]
    }
  }
}

resource "aws_iam_policy" "operator" {
  name        = "${var.name_prefix}-operator"
  description = "Run the Fruits! pipeline: upload images, stage artifacts, start and follow runs, fetch results."
  policy      = data.aws_iam_policy_document.operator.json
  tags        = var.tags
}
