# Three customer-managed keys, one per data tier, so that a grant on one tier
# never opens another:
#
#   storage      S3 data buckets (raw, processed, failed)
#   operational  SQS, SNS, DynamoDB, Secrets Manager, RDS storage and
#                Performance Insights
#   logs         CloudWatch Logs (including VPC flow logs) and CloudTrail
#
# Key policy model (per key):
#   * RootAdministration: the account root may administer the key (so IAM
#     policies in the account can manage it and the key can never become
#     unmanageable) but is NOT given cryptographic use. An IAM principal with
#     kms:Decrypt on "*" in its own policy still cannot decrypt directly.
#   * UseThroughServices: principals of this account may use the key only
#     through the AWS services of the tier (kms:ViaService + kms:CallerAccount),
#     and then only if their IAM policy allows it as well.
#   * CreateGrantsForServices (operational key only): principals of this
#     account may let DynamoDB and RDS create grants for the AWS resources they
#     encrypt (kms:GrantIsForAWSResource). S3, SQS, SNS and Secrets Manager
#     use no grants, and nobody may create grants on the storage or logs key.
#   * KeyUsers: explicit role/user ARNs (var.key_users) may use the key directly.
#   * Service principals that encrypt on their own behalf (CloudWatch Logs,
#     CloudTrail, S3/SNS/EventBridge/CloudWatch delivering into encrypted
#     queues and topics), each scoped to this account and, where the service
#     supports it, to the encryption context of the calling resource.
# There is no statement with a wildcard principal and no kms:* grant.

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # The region's name is `id` in provider 5.x and 6.x alike: `name` is
  # deprecated in 6.x and `region` does not exist in 5.x (docs/provider-6.md).
  region   = data.aws_region.current.id
  root_arn = "arn:${local.partition}:iam::${var.account_id}:root"

  tiers = {
    storage = {
      description    = "S3 data buckets (raw, processed, failed)"
      via_services   = ["s3"]
      via_actions    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      grant_services = []
    }
    operational = {
      description = "SQS, SNS, DynamoDB, Secrets Manager, RDS storage and Performance Insights, Lambda environment variables"
      # Lambda encrypts a function's environment variables with this key: the
      # deployer's calls reach KMS through lambda.<region>, and Lambda keeps a
      # grant for decrypting them when the function starts.
      via_services   = ["sqs", "sns", "dynamodb", "secretsmanager", "rds", "lambda"]
      via_actions    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      grant_services = ["dynamodb", "rds", "lambda"]
    }
    logs = {
      description = "CloudWatch Logs and CloudTrail"
      # Reading CloudTrail log files from S3 decrypts through S3; nothing
      # encrypts with this key through S3 except CloudTrail itself.
      via_services   = ["s3"]
      via_actions    = ["kms:Decrypt", "kms:DescribeKey"]
      grant_services = []
    }
  }

  # Key-level administration only: no Encrypt/Decrypt/GenerateDataKey and no
  # CreateGrant (a grant would be a way around the use statements).
  admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]

  user_actions = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]

  log_group_arn_pattern = "arn:${local.partition}:logs:${local.region}:${var.account_id}:log-group:*"
  trail_arns = (
    length(var.cloudtrail_source_arns) > 0
    ? var.cloudtrail_source_arns
    : ["arn:${local.partition}:cloudtrail:*:${var.account_id}:trail/*"]
  )
}

data "aws_iam_policy_document" "key" {
  for_each = local.tiers

  statement {
    sid       = "RootAdministration"
    effect    = "Allow"
    actions   = local.admin_actions
    resources = ["*"] # in a key policy "*" is this key

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "UseThroughServices"
    effect    = "Allow"
    actions   = each.value.via_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [for svc in each.value.via_services : "${svc}.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [var.account_id]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.grant_services) > 0 ? [each.value.grant_services] : []
    content {
      sid       = "CreateGrantsForServices"
      effect    = "Allow"
      actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [local.root_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [for svc in statement.value : "${svc}.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:CallerAccount"
        values   = [var.account_id]
      }

      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.key_users[each.key]) > 0 ? [var.key_users[each.key]] : []
    content {
      sid       = "KeyUsers"
      effect    = "Allow"
      actions   = local.user_actions
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "operational" && length(var.operational_service_principals) > 0 ? [var.operational_service_principals] : []
    content {
      sid       = "ServiceDeliveryIntoEncryptedQueuesAndTopics"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = statement.value
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [var.account_id]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "logs" ? ["logs.${local.region}.amazonaws.com"] : []
    content {
      sid       = "CloudWatchLogs"
      effect    = "Allow"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [statement.value]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = [local.log_group_arn_pattern]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "logs" ? ["cloudtrail.amazonaws.com"] : []
    content {
      sid       = "CloudTrailEncryptLogs"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [statement.value]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [var.account_id]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = local.trail_arns
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:cloudtrail:arn"
        values   = local.trail_arns
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "logs" ? ["cloudtrail.amazonaws.com"] : []
    content {
      sid       = "CloudTrailDescribeKey"
      effect    = "Allow"
      actions   = ["kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = [statement.value]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [var.account_id]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = local.trail_arns
      }
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = local.tiers

  description             = "${var.name_prefix} ${each.key} tier: ${each.value.description}"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  deletion_window_in_days = var.deletion_window_in_days
  is_enabled              = true
  multi_region            = false
  # The lockout safety check stays on: KMS refuses a policy the caller could
  # not change again.
  bypass_policy_lockout_safety_check = false
  policy                             = data.aws_iam_policy_document.key[each.key].json

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}", "ferry:tier" = each.key })
}

resource "aws_kms_alias" "this" {
  for_each = local.tiers

  name          = "alias/${var.name_prefix}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
