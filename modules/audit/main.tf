# Audit trail for ferry: a multi-region CloudTrail (management events plus S3
# data events on the data buckets) into its own locked-down bucket and a
# CloudWatch log group, and Macie scanning the raw and failed buckets with its
# findings routed through EventBridge to SNS and CloudWatch Logs.
#
# Opt-outs for organisation-managed services: create_trail = false (an
# organisation trail records this account), create_macie = false (a delegated
# Macie administrator enables Macie and runs the jobs), existing_sns_topic_arn
# (findings go to a topic that exists).

data "aws_partition" "current" {}

# `id` holds the region name in provider 5.100 and 6.x alike; `name` is
# deprecated in 6.0 and `region`, its replacement, does not exist in 5.100.
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.id

  # The naming rule of the trail and its bucket, here and nowhere else. The
  # outputs are built from it (not read from the resources) so that a caller
  # knows them at plan time: the logs key's policy names the trail while the
  # trail is encrypted with that key, which would otherwise be a cycle. The
  # bucket policy, the delivery role and the trail use it for the same reason.
  trail_name        = "${var.name_prefix}-trail"
  trail_arn         = "arn:${local.partition}:cloudtrail:${local.region}:${var.account_id}:trail/${local.trail_name}"
  trail_bucket_name = "${var.name_prefix}-trail-${var.account_id}"
  trail_bucket_arn  = "arn:${local.partition}:s3:::${local.trail_bucket_name}"

  # The other names this module gives, and the ARNs AWS derives from them
  # (Service Authorization Reference, "Resource types defined by" CloudWatch
  # Logs, SNS, SQS and EventBridge:
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html,
  # .../list_amazonsns.html, .../list_amazonsqs.html, .../list_amazoneventbridge.html).
  # The policies and the findings target name these, so that they are known at
  # plan time, also when the resources are created in the same plan, and the
  # plan review reads them.
  arn_prefix              = "arn:${local.partition}:%s:${local.region}:${var.account_id}"
  trail_log_group_name    = "/aws/cloudtrail/${local.trail_name}"
  trail_log_group_arn     = "${format(local.arn_prefix, "logs")}:log-group:${local.trail_log_group_name}"
  findings_name           = "${var.name_prefix}-macie-findings"
  findings_rule_arn       = "${format(local.arn_prefix, "events")}:rule/${local.findings_name}" # default bus
  findings_topic_arn      = "${format(local.arn_prefix, "sns")}:${local.findings_name}"
  findings_dlq_name       = "${local.findings_name}-dlq"
  findings_dlq_arn        = "${format(local.arn_prefix, "sqs")}:${local.findings_dlq_name}"
  findings_log_group_name = "/aws/events/${var.name_prefix}/macie-findings"
  findings_log_group_arn  = "${format(local.arn_prefix, "logs")}:log-group:${local.findings_log_group_name}"

  trail = var.create_trail ? 1 : 0

  macie_account = var.create_macie && var.create_macie_account
  macie_role    = var.create_macie && var.create_macie_service_linked_role
  # The service-linked role's ARN is fixed by AWS ("Using service-linked roles
  # for Amazon Macie", https://docs.aws.amazon.com/macie/latest/user/service-linked-roles.html).
  macie_role_arn = "arn:${local.partition}:iam::${var.account_id}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
  macie_job      = var.create_macie && var.macie_classification_job_enabled

  create_topic = var.existing_sns_topic_arn == null
  topic_arn    = local.create_topic ? local.findings_topic_arn : var.existing_sns_topic_arn

  tags = merge(var.tags, { "ferry:component" = "audit" })
}

# --- trail bucket -------------------------------------------------------------

module "trail_bucket" {
  #checkov:skip=CKV2_AWS_62:Nothing processes trail log files on arrival; they are read through the CloudWatch Logs copy or queried in place.
  #checkov:skip=CKV_AWS_144:Cross-region replication of audit logs is an account-level archive decision (e.g. an organisation log-archive account), not this module's; the trail already covers every region and log files are integrity-validated.
  source = "../bucket"
  count  = local.trail

  bucket_name = local.trail_bucket_name
  kms_key_arn = var.logs_kms_key_arn
  # No S3 Bucket Key: with one, S3 asks KMS with the bucket ARN as encryption
  # context instead of the trail's, which the logs key's CloudTrail statement
  # (kms:EncryptionContext:aws:cloudtrail:arn) rightly refuses. CloudTrail's
  # own KMS calls are free, so a bucket key would save nothing.
  bucket_key_enabled = false
  lifecycle_rule = {
    current_expiration_days         = var.trail_bucket_retention_days
    noncurrent_expiration_days      = 30
    abort_incomplete_multipart_days = 7
  }

  access_logging_enabled = var.access_log_bucket_name != null
  access_log_bucket      = var.access_log_bucket_name
  access_log_prefix      = "${local.trail_bucket_name}/"

  policy_documents = [data.aws_iam_policy_document.trail_delivery.json]

  tags = local.tags
}

# CloudTrail's delivery grant and the ban on deleting log files, merged into
# the bucket module's TLS-only and SSE-KMS-only policy.
data "aws_iam_policy_document" "trail_delivery" {
  statement {
    sid       = "CloudTrailAclCheck"
    effect    = "Allow"
    actions   = ["s3:GetBucketAcl"]
    resources = [local.trail_bucket_arn]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.trail_bucket_arn}/AWSLogs/${var.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }

  statement {
    sid       = "DenyDeletingLogFiles"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${local.trail_bucket_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    # Lifecycle expiration is performed by S3 itself and is not affected.
  }
}

# --- CloudWatch Logs delivery ---------------------------------------------------

resource "aws_cloudwatch_log_group" "trail" {
  count = local.trail

  name              = local.trail_log_group_name
  retention_in_days = var.trail_log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "trail_assume" {
  statement {
    sid     = "CloudTrailDelivery"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }
}

data "aws_iam_policy_document" "trail_logs" {
  count = local.trail

  statement {
    sid       = "WriteTrailLogStreams"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.trail_log_group_arn}:log-stream:*"]
  }
}

resource "aws_iam_role" "trail" {
  count = local.trail

  name               = "${local.trail_name}-logs"
  description        = "CloudTrail delivery of ${local.trail_name} into CloudWatch Logs"
  assume_role_policy = data.aws_iam_policy_document.trail_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "trail" {
  count = local.trail

  name   = "cloudwatch-logs-delivery"
  role   = aws_iam_role.trail[0].id
  policy = data.aws_iam_policy_document.trail_logs[0].json
}

# --- the trail -----------------------------------------------------------------

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_252:Per-log-file SNS notifications are not consumed; delivery is observed through the CloudWatch Logs integration below.
  count = local.trail

  name = local.trail_name
  # The bucket module's name output waits for the bucket policy that admits CloudTrail.
  s3_bucket_name = module.trail_bucket[0].name
  enable_logging = var.trail_logging_enabled

  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.logs_kms_key_arn

  cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.trail[0].arn}:*"
  cloud_watch_logs_role_arn  = aws_iam_role.trail[0].arn

  advanced_event_selector {
    name = "Management events"

    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
  }

  advanced_event_selector {
    name = "S3 object access on the data buckets"

    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }

    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }

    field_selector {
      field       = "resources.ARN"
      starts_with = [for arn in var.data_event_bucket_arns : "${arn}/"]
    }
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.trail]
}

# --- Macie ---------------------------------------------------------------------

# Created here (rather than implicitly by enabling Macie) so that its ARN can be
# granted kms:Decrypt on the storage key before Macie scans SSE-KMS objects:
# Macie needs Decrypt only ("Allowing Macie to use a customer managed AWS KMS
# key", https://docs.aws.amazon.com/macie/latest/user/discovery-supported-encryption-types.html#discovery-supported-encryption-cmk-configuration).
resource "aws_iam_service_linked_role" "macie" {
  count = local.macie_role ? 1 : 0

  aws_service_name = "macie.amazonaws.com"
  description      = "Macie service-linked role"
  tags             = local.tags
}

resource "aws_macie2_account" "this" {
  count = local.macie_account ? 1 : 0

  finding_publishing_frequency = var.macie_finding_publishing_frequency
  status                       = "ENABLED"

  depends_on = [aws_iam_service_linked_role.macie]
}

resource "aws_macie2_classification_job" "this" {
  count = local.macie_job ? 1 : 0

  name                = "${var.name_prefix}-sensitive-data"
  description         = "Scheduled scan of ferry's raw and failed buckets for sensitive data"
  job_type            = "SCHEDULED"
  initial_run         = true
  sampling_percentage = var.macie_sampling_percentage

  schedule_frequency {
    daily_schedule  = var.macie_schedule == "daily" ? true : null
    weekly_schedule = var.macie_schedule == "weekly" ? var.macie_weekly_day : null
  }

  s3_job_definition {
    bucket_definitions {
      account_id = var.account_id
      buckets    = var.macie_bucket_names
    }
  }

  tags = local.tags

  depends_on = [aws_macie2_account.this]
}

# --- findings: EventBridge -> SNS + CloudWatch Logs ------------------------------

resource "aws_cloudwatch_event_rule" "findings" {
  name        = local.findings_name
  description = "Macie findings for ${var.name_prefix}"
  state       = "ENABLED"

  event_pattern = jsonencode({
    source        = ["aws.macie"]
    "detail-type" = ["Macie Finding"]
  })

  tags = local.tags
}

resource "aws_sns_topic" "findings" {
  count = local.create_topic ? 1 : 0

  name              = local.findings_name
  kms_master_key_id = var.findings_kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "findings_topic" {
  count = local.create_topic ? 1 : 0

  statement {
    sid       = "AccountManagesTopic"
    effect    = "Allow"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic"]
    resources = [local.findings_topic_arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${var.account_id}:root"]
    }
  }

  # "Permissions for Amazon SNS" (EventBridge targets),
  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions.
  # The topic's key admits EventBridge by the SNS encryption context
  # (modules/kms), not by source conditions, which encrypted topics do not
  # support for EventBridge.
  statement {
    sid       = "EventBridgePublishesFindings"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [local.findings_topic_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.findings_rule_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [local.findings_topic_arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "findings" {
  #checkov:skip=CKV_AWS_385:Not cross-account: the only AWS principal is this account's own root (AccountManagesTopic); the check fails any unconditioned IAM ARN principal whatever its account. EventBridge publishes for the findings rule alone (aws:SourceArn).
  count = local.create_topic ? 1 : 0

  arn    = aws_sns_topic.findings[0].arn
  policy = data.aws_iam_policy_document.findings_topic[0].json
}

# Findings EventBridge could not deliver (topic or log group refused, key
# policy wrong) land here instead of being lost ("Using dead-letter queues to
# process undelivered events",
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq).
# Encrypted with the findings key, which admits EventBridge by the SQS
# encryption context (modules/kms).
resource "aws_sqs_queue" "findings_dlq" {
  name                              = local.findings_dlq_name
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum
  kms_master_key_id                 = var.findings_kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = local.tags
}

data "aws_iam_policy_document" "findings_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [local.findings_dlq_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.findings_rule_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.findings_dlq_arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "findings_dlq" {
  queue_url = aws_sqs_queue.findings_dlq.id
  policy    = data.aws_iam_policy_document.findings_dlq.json
}

resource "aws_cloudwatch_event_target" "findings_topic" {
  rule      = aws_cloudwatch_event_rule.findings.name
  target_id = "sns"
  # An existing topic's policy must let events.amazonaws.com publish (README).
  arn = local.topic_arn

  dead_letter_config {
    arn = aws_sqs_queue.findings_dlq.arn
  }

  depends_on = [aws_sns_topic_policy.findings, aws_sqs_queue_policy.findings_dlq]
}

resource "aws_sns_topic_subscription" "findings_email" {
  for_each = local.create_topic ? toset(var.notification_emails) : toset([])

  topic_arn = aws_sns_topic.findings[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_log_group" "findings" {
  # EventBridge only delivers to log groups under /aws/events/.
  name              = local.findings_log_group_name
  retention_in_days = var.findings_log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = local.tags
}

# "Permissions for Amazon CloudWatch Logs" (EventBridge targets),
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions
data "aws_iam_policy_document" "findings_logs" {
  statement {
    sid       = "EventBridgeWritesFindings"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.findings_log_group_arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "findings" {
  policy_name     = "${var.name_prefix}-macie-findings-to-logs"
  policy_document = data.aws_iam_policy_document.findings_logs.json
}

resource "aws_cloudwatch_event_target" "findings_logs" {
  rule      = aws_cloudwatch_event_rule.findings.name
  target_id = "logs"
  arn       = aws_cloudwatch_log_group.findings.arn

  dead_letter_config {
    arn = aws_sqs_queue.findings_dlq.arn
  }

  depends_on = [aws_cloudwatch_log_resource_policy.findings, aws_sqs_queue_policy.findings_dlq]
}

# --- upgrade from the layout with an inline trail bucket and no opt-outs ----------

moved {
  from = aws_s3_bucket.trail
  to   = module.trail_bucket[0].aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.trail
  to   = module.trail_bucket[0].aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.trail
  to   = module.trail_bucket[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.trail
  to   = module.trail_bucket[0].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.trail
  to   = module.trail_bucket[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.trail
  to   = module.trail_bucket[0].aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_logging.trail[0]
  to   = module.trail_bucket[0].aws_s3_bucket_logging.this[0]
}

moved {
  from = aws_s3_bucket_policy.trail
  to   = module.trail_bucket[0].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_cloudwatch_log_group.trail
  to   = aws_cloudwatch_log_group.trail[0]
}

moved {
  from = aws_iam_role.trail
  to   = aws_iam_role.trail[0]
}

moved {
  from = aws_iam_role_policy.trail
  to   = aws_iam_role_policy.trail[0]
}

moved {
  from = aws_cloudtrail.this
  to   = aws_cloudtrail.this[0]
}

moved {
  from = aws_sns_topic.findings
  to   = aws_sns_topic.findings[0]
}

moved {
  from = aws_sns_topic_policy.findings
  to   = aws_sns_topic_policy.findings[0]
}

# What the organisation runs instead of this module, written into the plan so
# that the plan review (policy/rego/macie.rego) can tell a documented opt-out
# from a forgotten Macie account. No AWS resource: Terraform's built-in
# terraform_data only records the input.
resource "terraform_data" "organisation_managed" {
  count = var.create_trail && var.create_macie ? 0 : 1

  input = {
    cloudtrail = var.create_trail ? "ferry" : "organisation"
    macie      = var.create_macie ? "ferry" : "organisation"
  }
}
