# Optional: EventBridge starts executions straight from S3 "Object Created"
# events (the reference design), with a retry policy and an encrypted retry
# queue (dead-letter queue of the target) for starts that keep failing.

locals {
  eventbridge_start = var.eventbridge_start.enabled
  # Built from the names, so the queue policy is readable at plan time (policy review).
  start_rule_arn  = "arn:${local.partition}:events:${local.region}:${var.account_id}:rule/${local.names.start_rule}"
  start_retry_arn = "arn:${local.partition}:sqs:${local.region}:${var.account_id}:${local.names.start_retry}"
}

resource "aws_cloudwatch_event_rule" "start" {
  count = local.eventbridge_start ? 1 : 0

  name        = local.names.start_rule
  description = "Large objects in ${var.bucket_names.raw} start the ${local.names.state_machine} state machine"
  tags        = var.tags
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [var.bucket_names.raw] }
      object = {
        key  = [for p in var.eventbridge_start.prefixes : { prefix = p }]
        size = [{ numeric = [">", var.eventbridge_start.min_size_bytes] }]
      }
    }
  })
}

resource "aws_sqs_queue" "start_retry" {
  count = local.eventbridge_start ? 1 : 0

  name                              = local.names.start_retry
  kms_master_key_id                 = var.operational_kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 1209600
  tags                              = var.tags
}

# "Using dead-letter queues to process undelivered events in EventBridge"
# (the queue admits the rule alone: aws:SourceArn),
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
resource "aws_sqs_queue_policy" "start_retry" {
  count = local.eventbridge_start ? 1 : 0

  queue_url = aws_sqs_queue.start_retry[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeRetryQueue"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = local.start_retry_arn
      Condition = { ArnEquals = { "aws:SourceArn" = local.start_rule_arn } }
    }]
  })
}

# "Using IAM roles for EventBridge targets" (states:StartExecution on this state machine),
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
data "aws_iam_policy_document" "start_assume" {
  statement {
    sid     = "EventsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

data "aws_iam_policy_document" "start" {
  statement {
    sid       = "StartLargeFileExecutions"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }
}

resource "aws_iam_role" "start" {
  count = local.eventbridge_start ? 1 : 0

  name                 = local.names.start_role
  description          = "EventBridge starts ${local.names.state_machine}"
  assume_role_policy   = data.aws_iam_policy_document.start_assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "start" {
  count = local.eventbridge_start ? 1 : 0

  name   = "${local.names.start_role}-least-privilege"
  role   = aws_iam_role.start[0].id
  policy = data.aws_iam_policy_document.start.json
}

resource "aws_cloudwatch_event_target" "start" {
  count = local.eventbridge_start ? 1 : 0

  rule     = aws_cloudwatch_event_rule.start[0].name
  arn      = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.start[0].arn

  # The execution's input, as the function's hand-off writes it (ferry.lanes.execution_input).
  # EventBridge keys are literal (not URL-encoded); the raw bucket is versioned.
  input_transformer {
    input_paths = {
      bucket  = "$.detail.bucket.name"
      key     = "$.detail.object.key"
      version = "$.detail.object.version-id"
    }
    input_template = <<-EOT
      {"ledger_id": "s3://<bucket>/<key>#<version>", "bucket": <bucket>, "key": <key>, "version_id": <version>}
    EOT
  }

  retry_policy {
    maximum_retry_attempts       = var.eventbridge_start.maximum_retry_attempts
    maximum_event_age_in_seconds = var.eventbridge_start.maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.start_retry[0].arn
  }
}
