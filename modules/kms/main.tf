# Three customer-managed keys, one per data tier, so that a grant on one tier
# never opens another:
#
#   storage      S3 data buckets (raw, processed, failed)
#   operational  SQS, SNS, DynamoDB, Secrets Manager, RDS storage and
#                Performance Insights
#   logs         CloudWatch Logs (including VPC flow logs) and CloudTrail
#
# Key policy model (per key). Each service statement cites the AWS page it
# follows; the README's "Security notes" lists the same pages.
#   * RootAdministration: the account root may administer the key (so that
#     KMS's lockout safety check passes and IAM policies in the account can
#     manage it) but is NOT given cryptographic use. An IAM principal with
#     kms:Decrypt on "*" in its own policy still cannot decrypt.
#     (AWS KMS Developer Guide, "Default key policy": "Allows access to the AWS
#     account and enables IAM policies",
#     https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)
#   * KeyAdministrators: named role/user ARNs (var.key_administrators) that
#     administer the key, and create the resources encrypted with it: only
#     what creation needs, only through the services, no kms:Decrypt.
#     Without named administrators the account root stands in for them.
#   * CreateGrantsForServices (operational key only): DynamoDB, RDS and Lambda
#     create grants for the AWS resources they encrypt
#     (kms:GrantIsForAWSResource). S3, SQS, SNS and Secrets Manager use none.
#   * KeyUsers: named role/user ARNs (var.key_users) that read and write data
#     under the key (Decrypt, GenerateDataKey, DescribeKey); DecryptOnly: named
#     ARNs that only read (var.key_decrypt_only_users, e.g. Macie's role).
#     Nobody else in the account can use a data key, whatever its IAM policy.
#   * Service principals that encrypt on their own behalf (CloudWatch Logs,
#     CloudTrail, S3/SNS/EventBridge/CloudWatch delivering into encrypted
#     queues and topics), each scoped the way the service documents: by
#     encryption context where source conditions are not supported.
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
      grant_services = []
    }
    operational = {
      description = "SQS, SNS, DynamoDB, Secrets Manager, RDS storage and Performance Insights, Lambda environment variables"
      # Lambda keeps a grant for decrypting a function's environment variables
      # when it starts; DynamoDB and RDS keep grants for their background work.
      grant_services = ["dynamodb", "rds", "lambda"]
    }
    logs = {
      description    = "CloudWatch Logs and CloudTrail"
      grant_services = []
    }
  }

  # Who administers the keys and creates the resources encrypted with them:
  # the named administrators, else the account (its IAM policies decide).
  administrators = length(var.key_administrators) > 0 ? var.key_administrators : [local.root_arn]

  # Creating resources encrypted with the operational key encrypts, never
  # decrypts: Lambda encrypts a function's environment variables with the
  # caller's credentials ("Securing Lambda environment variables",
  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html),
  # and RDS creates the master user secret in Secrets Manager, which asks for
  # a data key ("Password management with Amazon RDS and AWS Secrets Manager",
  # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html).
  creation_services = ["lambda", "secretsmanager"]

  # Services that deliver into encrypted queues / topics on their own behalf.
  # SNS and SQS call KMS with the topic's / queue's ARN as encryption context
  # (kms:EncryptionContext:aws:sns:topicArn, kms:EncryptionContext:aws:sqs:arn);
  # source conditions are not supported for these calls ("Key management -
  # Amazon SNS", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html,
  # "Enable compatibility between event sources from AWS services and
  # encrypted topics"; "Key management - Amazon SQS",
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
  # "Configure KMS permissions for AWS services"). S3 -> SQS follows S3's own
  # example, which has no source condition ("Walkthrough: Configuring a bucket
  # for notifications (SNS topic or SQS queue)",
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html).
  queue_senders     = [for p in var.operational_service_principals : p if contains(["s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "lambda.amazonaws.com"], p)]
  topic_senders     = [for p in var.operational_service_principals : p if contains(["events.amazonaws.com", "cloudwatch.amazonaws.com", "lambda.amazonaws.com"], p)]
  queue_arn_pattern = "arn:${local.partition}:sqs:${local.region}:${var.account_id}:${var.name_prefix}-*"
  topic_arn_pattern = "arn:${local.partition}:sns:${local.region}:${var.account_id}:${var.name_prefix}-*"

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

  # Reading and writing data: SSE-KMS PutObject and SQS/SNS/DynamoDB writes
  # ask for a data key; reads decrypt. Nothing in ferry calls kms:Encrypt or
  # kms:ReEncrypt* with a data key ("Protecting data with server-side
  # encryption using AWS KMS keys (SSE-KMS)",
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
  user_actions = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
  # The services through which key users reach data: S3 objects, DynamoDB
  # items, SQS messages, SNS topics, Secrets Manager secrets.
  user_services = ["s3", "dynamodb", "sqs", "sns", "secretsmanager"]

  log_group_arn_pattern = "arn:${local.partition}:logs:${local.region}:${var.account_id}:log-group:*"
  trail_arns = (
    length(var.cloudtrail_source_arns) > 0
    ? var.cloudtrail_source_arns
    : ["arn:${local.partition}:cloudtrail:*:${var.account_id}:trail/*"]
  )
}

data "aws_iam_policy_document" "key" {
  for_each = local.tiers
  # checkov:skip=CKV_AWS_111:A key policy: its resource * is this key alone, and every write statement names its principals.
  # checkov:skip=CKV_AWS_356:A key policy: its resource * is this key alone (KMS key policies accept no other resource).

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

  dynamic "statement" {
    for_each = length(var.key_administrators) > 0 ? [var.key_administrators] : []
    content {
      sid       = "KeyAdministrators"
      effect    = "Allow"
      actions   = local.admin_actions
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "operational" ? [local.creation_services] : []
    content {
      sid       = "CreateEncryptedResources"
      effect    = "Allow"
      actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = local.administrators
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
    }
  }

  dynamic "statement" {
    for_each = length(each.value.grant_services) > 0 ? [each.value.grant_services] : []
    content {
      sid       = "CreateGrantsForServices"
      effect    = "Allow"
      actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
      resources = ["*"]

      # Creating a DynamoDB table, an RDS instance or a Lambda function with
      # this key creates a grant for that resource ("How Amazon DynamoDB uses
      # AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html;
      # "Using a key policy ... kms:GrantIsForAWSResource",
      # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
      principals {
        type        = "AWS"
        identifiers = local.administrators
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

      # Data keys only through the AWS services that hold the data, never a
      # direct Decrypt of whatever ciphertext a caller brings ("AWS KMS
      # condition keys: kms:ViaService",
      # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [for service in local.user_services : "${service}.${local.region}.amazonaws.com"]
      }
    }
  }

  # Principals that only read, such as Macie's service-linked role: Macie
  # needs kms:Decrypt alone to analyse SSE-KMS objects ("Analyzing encrypted
  # Amazon S3 objects with Amazon Macie", "Allowing Macie to use a customer
  # managed AWS KMS key",
  # https://docs.aws.amazon.com/macie/latest/user/discovery-supported-encryption-types.html).
  # No condition: AWS's example statement has none.
  dynamic "statement" {
    for_each = length(var.key_decrypt_only_users[each.key]) > 0 ? [var.key_decrypt_only_users[each.key]] : []
    content {
      sid       = "DecryptOnly"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "operational" && length(local.queue_senders) > 0 ? [local.queue_senders] : []
    content {
      sid       = "ServiceDeliveryIntoEncryptedQueues"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = statement.value
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:sqs:arn"
        values   = [local.queue_arn_pattern]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "operational" && length(local.topic_senders) > 0 ? [local.topic_senders] : []
    content {
      sid       = "ServiceDeliveryIntoEncryptedTopics"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = statement.value
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:sns:topicArn"
        values   = [local.topic_arn_pattern]
      }
    }
  }

  # "Encrypt log data in CloudWatch Logs using AWS KMS",
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
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

  # "Configure AWS KMS key policies for CloudTrail",
  # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
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

  # KMS rejects a key policy naming a principal that does not exist yet
  # (MalformedPolicyDocumentException; "The principals in the key policy must
  # exist and be visible to KMS", CreateKey and PutKeyPolicy, parameter Policy,
  # https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html,
  # https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html).
  # The policy names roles by ARNs built from their names, known at plan time;
  # this orders the keys after the roles created in the same apply. Not on the
  # policy document: a data source with depends_on is read only at apply.
  depends_on = [var.principal_dependencies]
}

resource "aws_kms_alias" "this" {
  for_each = local.tiers

  name          = "alias/${var.name_prefix}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
