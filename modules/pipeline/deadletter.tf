# The dead-letter consumer: a function of the same zip (ferry.deadletter)
# on the dead-letter queue. For every file in a message the processor gave up
# on (or an event EventBridge could not deliver), the ledger item ends
# dead_lettered with the last error and the attempt count, and keeps what
# `ferry reprocess` needs. Its role can do exactly that and nothing else.

data "aws_iam_policy_document" "deadletter" {
  source_policy_documents = [data.aws_iam_policy_document.function_base.json]

  # "Using Lambda with Amazon SQS" (execution role permissions),
  # https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions
  statement {
    sid = "ConsumeDeadLetterQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]
    resources = [local.arns.dlq]
  }

  statement {
    sid       = "RecordDeadLetters"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.arns.tables.ledger]
  }

  # The DLQ and the ledger are encrypted with the operational key: receiving
  # decrypts, DynamoDB writes use the table key ("Key management - Amazon
  # SQS", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html;
  # "How Amazon DynamoDB uses AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html).
  statement {
    sid       = "UseOperationalKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.operational_kms_key_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns.deadletter}:*"]
  }

  # FileDeadLettered events (events.tf): this bus, this source only.
  dynamic "statement" {
    for_each = local.events_enabled ? [1] : []
    content {
      sid       = "PublishFileEvents"
      actions   = local.put_file_events.actions
      resources = local.put_file_events.resources
      condition {
        test     = local.put_file_events.source_test
        variable = "events:source"
        values   = [local.event_source]
      }
      condition {
        test     = "Null"
        variable = "events:source"
        values   = ["false"]
      }
    }
  }
}

resource "aws_iam_role" "deadletter" {
  count = 1 # also on the emulator: the local dead-letter worker runs as this role

  name                 = local.names.deadletter
  description          = "Execution role of ${local.names.deadletter}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "deadletter" {
  # checkov:skip=CKV_AWS_290:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  # checkov:skip=CKV_AWS_355:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  count = 1

  name   = "${local.names.deadletter}-least-privilege"
  role   = aws_iam_role.deadletter[0].id
  policy = data.aws_iam_policy_document.deadletter.json
}

resource "aws_cloudwatch_log_group" "deadletter" {
  count = local.create_function ? 1 : 0

  name              = local.log_group_names.deadletter
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "deadletter" {
  count = local.create_function ? 1 : 0

  # checkov:skip=CKV_AWS_116:Invoked only by the event source mapping on the dead-letter queue; a message it cannot record stays on that queue (ReportBatchItemFailures).
  # checkov:skip=CKV_AWS_272:Code signing is opt-in through var.code_signing (make build produces unsigned zips); when set, the same config is attached.
  function_name                  = local.names.deadletter
  description                    = "ferry: mark files on ${local.names.dlq} dead_lettered in the ledger"
  role                           = aws_iam_role.deadletter[0].arn
  filename                       = var.package_path
  source_code_hash               = var.package_sha256
  handler                        = "ferry.deadletter.handler"
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  memory_size                    = 256
  timeout                        = var.deadletter_timeout
  reserved_concurrent_executions = 2
  kms_key_arn                    = var.operational_kms_key_arn
  code_signing_config_arn        = try(aws_lambda_code_signing_config.processor[0].arn, null)

  environment {
    variables = local.deadletter_environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format            = "JSON"
    log_group             = local.log_group_names.deadletter
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.deadletter, aws_iam_role_policy.deadletter]
}

resource "aws_lambda_event_source_mapping" "deadletter" {
  count = local.create_esm ? 1 : 0

  event_source_arn        = aws_sqs_queue.dlq.arn
  function_name           = aws_lambda_function.deadletter[0].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 2
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.deadletter]
}
