# The customer-managed key of the bucket, the execution log group and the clusters' disks.
# Key policy: the account (through IAM) may administer the key but only the named principals may
# use it; CloudWatch Logs, and whoever calls it, may use it for the platform's log groups only.
# docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
# docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
data "aws_iam_policy_document" "key" {
  statement {
    sid = "AccountAdministersTheKey"
    actions = [
      "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:DescribeKey", "kms:EnableKey", "kms:DisableKey",
      "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus",
      "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags", "kms:RevokeGrant",
      "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    ]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  statement {
    sid       = "OnlyTheNamedPrincipalsUseTheKey"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
    # Named by condition, not as principals: the roles are created after the key (their
    # policies name it), and KMS rejects principals that do not exist yet.
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.key_user_arns
    }
  }

  statement {
    sid       = "AwsServicesActingForThoseRolesMayGrant"
    actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.key_user_arns
    }
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  # encrypt-log-data-kms.html grants the logs principal kms:Encrypt, kms:Decrypt, kms:ReEncrypt*,
  # kms:GenerateDataKey* and kms:Describe*: written out below, every action those match on a key.
  statement {
    sid = "CloudWatchLogsForThePlatformLogGroups"
    actions = [
      "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:DescribeKey",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.log_group_name_prefix}*"]
    }
  }

  # encrypt-log-data-kms.html: CloudWatch Logs also calls KMS with the credentials of whoever
  # calls it (kms:ViaService), so "the caller role" needs the key too: Terraform creating the log
  # group, a person reading the execution logs. Any principal of the account whose IAM policy
  # allows it, but only through CloudWatch Logs in the region, and for the platform's log groups.
  statement {
    sid = "CallersOfCloudWatchLogsForThePlatformLogGroups"
    actions = [
      "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.log_group_name_prefix}*"]
    }
  }

  statement {
    sid       = "CallersOfCloudWatchLogsDescribeTheKey"
    actions   = ["kms:DescribeKey"] # no encryption context in a DescribeKey request
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["logs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${var.name_prefix}: images, artifacts, results, logs and cluster disks"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name_prefix}-data"
  target_key_id = aws_kms_key.data.key_id
}
