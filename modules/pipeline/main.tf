# pipeline: raw bucket events -> SQS (+ DLQ) -> Lambda processor -> DynamoDB /
# processed and failed buckets / PostgreSQL, with alarms.
#
# ARNs of resources this module names itself are built from their names
# (local.arns) rather than read back after apply: the queue policies refer to
# their own queue, and the role policy is then fully known at plan time, so
# reviewers, checkov and the policy suite see the real documents in the plan.

locals {
  # Partition and Region come from the operational key's ARN, not from a data
  # source: SQS, DynamoDB, Lambda and SNS only use a KMS key of their own
  # Region, so that key's Region is the pipeline's Region by construction.
  # This needs no provider call at plan time and is the same under provider
  # 5.x and 6.x (6.0 deprecated `data.aws_region.name` for `.region`, an
  # attribute 5.100 does not have).
  partition = split(":", var.operational_kms_key_arn)[1]
  region    = split(":", var.operational_kms_key_arn)[3]

  create_function = var.create_function
  create_esm      = var.create_function && var.create_event_source_mapping
  eventbridge     = var.delivery == "eventbridge"
  create_topic    = var.create_alarms && var.existing_sns_topic_arn == null
  alarm_topic_arn = var.existing_sns_topic_arn != null ? var.existing_sns_topic_arn : try(aws_sns_topic.alarms[0].arn, null)

  names = {
    queue    = "${var.name_prefix}-ingest"
    dlq      = "${var.name_prefix}-ingest-dlq"
    function = "${var.name_prefix}-processor"
    role     = "${var.name_prefix}-processor"
    rule     = "${var.name_prefix}-object-created"
    topic    = "${var.name_prefix}-alarms"
  }
  log_group_name = "/aws/lambda/${local.names.function}"

  table_names = {
    ledger   = "${var.name_prefix}-ledger"
    records  = "${var.name_prefix}-records"
    metadata = "${var.name_prefix}-metadata"
  }

  arns = {
    queue     = "arn:${local.partition}:sqs:${local.region}:${var.account_id}:${local.names.queue}"
    dlq       = "arn:${local.partition}:sqs:${local.region}:${var.account_id}:${local.names.dlq}"
    rule      = "arn:${local.partition}:events:${local.region}:${var.account_id}:rule/${local.names.rule}"
    topic     = "arn:${local.partition}:sns:${local.region}:${var.account_id}:${local.names.topic}"
    log_group = "arn:${local.partition}:logs:${local.region}:${var.account_id}:log-group:${local.log_group_name}"
    tables    = { for k, n in local.table_names : k => "arn:${local.partition}:dynamodb:${local.region}:${var.account_id}:table/${n}" }
    buckets   = { for k, n in var.bucket_names : k => "arn:${local.partition}:s3:::${n}" }
    subnets   = [for s in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${var.account_id}:subnet/${s}"]
    sgs       = [for s in var.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${var.account_id}:security-group/${s}"]
    enis      = "arn:${local.partition}:ec2:${local.region}:${var.account_id}:network-interface/*"
  }

  # The variables the processors read. Names are a contract with lambda_src/ferry.
  function_environment = merge(
    var.environment_variables,
    {
      FERRY_CONFIG_SHA256    = local.processing_config_sha256
      FERRY_LEDGER_TABLE     = local.table_names.ledger
      FERRY_RECORDS_TABLE    = local.table_names.records
      FERRY_METADATA_TABLE   = local.table_names.metadata
      FERRY_PROCESSED_BUCKET = var.bucket_names.processed
      FERRY_FAILED_BUCKET    = var.bucket_names.failed
      FERRY_LEDGER_TTL_DAYS  = tostring(var.ledger_ttl_days)
    },
    var.database.host == "" ? {} : {
      FERRY_DB_HOST = var.database.host
      FERRY_DB_PORT = tostring(var.database.port)
    },
    var.database.name == "" ? {} : { FERRY_DB_NAME = var.database.name },
    var.database.secret_arn == "" ? {} : { FERRY_DB_SECRET_ARN = var.database.secret_arn },
  )

  eventbridge_pattern = {
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = merge(
      { bucket = { name = [var.bucket_names.raw] } },
      local.routes_every_key ? {} : { object = { key = [for p in local.routed_prefixes : { prefix = p }] } },
    )
  }

  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "sqs:*"
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }

  queue_policy = {
    Version = "2012-10-17"
    Statement = concat(
      local.eventbridge ? [] : [{
        Sid       = "AllowRawBucketNotifications"
        Effect    = "Allow"
        Principal = { Service = "s3.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.arns.queue
        Condition = {
          ArnEquals    = { "aws:SourceArn" = local.arns.buckets.raw }
          StringEquals = { "aws:SourceAccount" = var.account_id }
        }
      }],
      local.eventbridge ? [{
        Sid       = "AllowObjectCreatedRule"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.arns.queue
        Condition = {
          ArnEquals    = { "aws:SourceArn" = local.arns.rule }
          StringEquals = { "aws:SourceAccount" = var.account_id }
        }
      }] : [],
      [merge(local.deny_insecure_transport, { Resource = local.arns.queue })],
    )
  }

  dlq_policy = {
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = local.arns.dlq })]
  }

  topic_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowCloudWatchAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.arns.topic
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  }
}

# --- queues ---------------------------------------------------------------------

resource "aws_sqs_queue" "dlq" {
  name                              = local.names.dlq
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum
  kms_master_key_id                 = var.operational_kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  policy                            = jsonencode(local.dlq_policy)
  redrive_allow_policy = var.dlq_redrive_allow_policy ? jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.arns.queue]
  }) : null
  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = local.names.queue
  visibility_timeout_seconds        = 6 * var.timeout
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = var.operational_kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  policy                            = jsonencode(local.queue_policy)
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

# --- delivery -----------------------------------------------------------------------
# This resource owns the raw bucket's whole notification configuration (S3 keeps
# one per bucket): no other configuration may declare one for the same bucket.
# create_bucket_notification = false leaves it to the bucket's owner.

resource "aws_s3_bucket_notification" "raw" {
  count = var.create_bucket_notification ? 1 : 0

  bucket      = var.bucket_names.raw
  eventbridge = local.eventbridge ? true : null

  dynamic "queue" {
    for_each = local.eventbridge ? [] : local.routed_prefixes
    content {
      id            = "ferry-prefix-${queue.key}"
      queue_arn     = aws_sqs_queue.this.arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = queue.value == "" ? null : queue.value
    }
  }
}

moved {
  from = aws_s3_bucket_notification.raw
  to   = aws_s3_bucket_notification.raw[0]
}

resource "aws_cloudwatch_event_rule" "object_created" {
  count = local.eventbridge ? 1 : 0

  name          = local.names.rule
  description   = "Object Created in ${var.bucket_names.raw} -> ${local.names.queue}"
  event_pattern = jsonencode(local.eventbridge_pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "queue" {
  count = local.eventbridge ? 1 : 0

  rule      = aws_cloudwatch_event_rule.object_created[0].name
  target_id = "ferry-ingest-queue"
  arn       = aws_sqs_queue.this.arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

# --- tables ---------------------------------------------------------------------------

resource "aws_dynamodb_table" "ledger" {
  name                        = local.table_names.ledger
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "ledger_id"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "ledger_id"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.operational_kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "records" {
  name                        = local.table_names.records
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "device_id"
  range_key                   = "timestamp"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "device_id"
    type = "S"
  }

  attribute {
    name = "timestamp"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.operational_kms_key_arn
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "metadata" {
  name                        = local.table_names.metadata
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "documentId"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "documentId"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.operational_kms_key_arn
  }

  tags = var.tags
}

# --- function role --------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

data "aws_iam_policy_document" "processor" {
  statement {
    sid       = "ReadRawObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.arns.buckets.raw}/*"]
  }

  dynamic "statement" {
    for_each = var.delete_raw_after_processing ? [1] : []
    content {
      sid       = "DeleteProcessedRawObjects"
      actions   = ["s3:DeleteObject"]
      resources = ["${local.arns.buckets.raw}/*"]
    }
  }

  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject"]
    resources = ["${local.arns.buckets.processed}/*", "${local.arns.buckets.failed}/*"]
  }

  statement {
    sid       = "UseDataKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = distinct([var.storage_kms_key_arn, var.operational_kms_key_arn])
  }

  # An existing raw bucket encrypted with a key of its own: read only.
  dynamic "statement" {
    for_each = var.raw_bucket_kms_key_arn == null || var.raw_bucket_kms_key_arn == var.storage_kms_key_arn ? [] : [1]
    content {
      sid       = "DecryptRawObjects"
      actions   = ["kms:Decrypt"]
      resources = [var.raw_bucket_kms_key_arn]
    }
  }

  statement {
    sid = "ConsumeIngestQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]
    resources = [local.arns.queue]
  }

  statement {
    sid = "UseTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = values(local.arns.tables)
  }

  dynamic "statement" {
    for_each = var.database.secret_arn == "" ? [] : [var.database.secret_arn]
    content {
      sid       = "ReadDatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.database.iam_auth_user == "" ? [] : [1]
    content {
      sid       = "ConnectAsDatabaseUser"
      actions   = ["rds-db:connect"]
      resources = ["arn:${local.partition}:rds-db:${local.region}:${var.account_id}:dbuser:${var.database.resource_id}/${var.database.iam_auth_user}"]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arns.log_group}:*"]
  }

  # X-Ray trace submission has no resource-level permissions: AWS only accepts "*".
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  # VPC access. Describe calls only work on "*". Creating an interface is
  # allowed only in the function's subnets with its security groups; changing
  # or deleting one only for interfaces in those subnets.
  statement {
    sid       = "DescribeNetwork"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  statement {
    sid       = "CreateInterfacesInOwnSubnets"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = concat(local.arns.subnets, local.arns.sgs)
  }

  statement {
    sid       = "CreateInterfaces"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = [local.arns.enis]
    condition {
      test     = "ArnEquals"
      variable = "ec2:Subnet"
      values   = local.arns.subnets
    }
  }

  statement {
    sid = "ManageOwnInterfaces"
    actions = [
      "ec2:AssignPrivateIpAddresses",
      "ec2:DeleteNetworkInterface",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = [local.arns.enis]
    condition {
      test     = "ArnEquals"
      variable = "ec2:Subnet"
      values   = local.arns.subnets
    }
  }
}

resource "aws_iam_role" "processor" {
  count = local.create_function ? 1 : 0

  name                 = local.names.role
  description          = "Execution role of ${local.names.function}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "processor" {
  count = local.create_function ? 1 : 0

  name   = "${local.names.function}-least-privilege"
  role   = aws_iam_role.processor[0].id
  policy = data.aws_iam_policy_document.processor.json
}

# --- function -------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "processor" {
  count = local.create_function ? 1 : 0

  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_code_signing_config" "processor" {
  count = local.create_function && length(var.code_signing.signing_profile_version_arns) > 0 ? 1 : 0

  description = "Signers trusted for ${local.names.function}"

  allowed_publishers {
    signing_profile_version_arns = var.code_signing.signing_profile_version_arns
  }

  policies {
    untrusted_artifact_on_deployment = var.code_signing.untrusted_artifact_on_deployment
  }

  tags = var.tags
}

resource "aws_lambda_function" "processor" {
  count = local.create_function ? 1 : 0

  # checkov:skip=CKV_AWS_116:Invoked only by the SQS event source mapping; failed messages are redriven to the queue's DLQ, a function DLQ only applies to asynchronous invocation.
  # checkov:skip=CKV_AWS_272:Code signing is opt-in through var.code_signing (make build produces unsigned zips); when set, the config is created and attached.
  function_name                  = local.names.function
  description                    = "ferry: process files landing in ${var.bucket_names.raw}"
  role                           = aws_iam_role.processor[0].arn
  filename                       = var.package_path
  source_code_hash               = var.package_sha256
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.operational_kms_key_arn
  code_signing_config_arn        = try(aws_lambda_code_signing_config.processor[0].arn, null)
  layers                         = var.layers

  environment {
    variables = local.function_environment
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
    log_group             = local.log_group_name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  # The log group exists first (Lambda never creates an unencrypted one without
  # retention) and the role can create network interfaces before the function does.
  depends_on = [aws_cloudwatch_log_group.processor, aws_iam_role_policy.processor]
}

resource "aws_lambda_event_source_mapping" "queue" {
  count = local.create_esm ? 1 : 0

  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = aws_lambda_function.processor[0].arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.processor]
}

# --- alarms ---------------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  count = local.create_topic ? 1 : 0

  name              = local.names.topic
  kms_master_key_id = var.operational_kms_key_arn
  policy            = jsonencode(local.topic_policy)
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = local.create_topic ? toset(var.notification_emails) : toset([])

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  queue_alarms = {
    dlq-not-empty = {
      description = "Messages in ${local.names.dlq}: files failed ${var.max_receive_count} times and need attention."
      metric      = "ApproximateNumberOfMessagesVisible"
      queue       = local.names.dlq
      threshold   = 0
    }
    queue-oldest-message-age = {
      description = "Oldest message in ${local.names.queue} is older than ${var.queue_age_alarm_seconds} s: processing is falling behind or stuck."
      metric      = "ApproximateAgeOfOldestMessage"
      queue       = local.names.queue
      threshold   = var.queue_age_alarm_seconds
    }
  }
  function_alarms = {
    function-errors = {
      description = "${local.names.function} reported errors."
      metric      = "Errors"
    }
    function-throttles = {
      description = "${local.names.function} was throttled: raise reserved_concurrent_executions or lower maximum_concurrency."
      metric      = "Throttles"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "queue" {
  for_each = var.create_alarms ? local.queue_alarms : {}

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/SQS"
  metric_name         = each.value.metric
  dimensions          = { QueueName = each.value.queue }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = var.create_alarms && local.create_function ? local.function_alarms : {}

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = local.names.function }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
  tags                = var.tags
}
