# pipeline: raw bucket events -> SQS (+ DLQ) -> Lambda processor -> DynamoDB /
# processed and failed buckets / PostgreSQL, with alarms.
#
# ARNs of resources this module names itself are built from their names
# (local.arns) rather than read back after apply: the queue policies refer to
# their own queue, and the role policy is then fully known at plan time, so
# reviewers, checkov and the policy suite see the real documents in the plan.

data "aws_partition" "current" {}

# `id` holds the Region's name in provider 5.100 and 6.x alike (`name` is
# deprecated in 6.0, `region` does not exist in 5.100).
data "aws_region" "current" {}

locals {
  # Partition and Region from the provider's configuration: computed locally,
  # so every ARN below is known at plan time, also when the keys are created
  # in the same plan (their ARNs are not known until then).
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.id

  create_function = var.create_function
  create_esm      = var.create_function && var.create_event_source_mapping
  # The malware gate needs EventBridge too: the queue gets GuardDuty's scan
  # results through the same rule (malware.tf).
  eventbridge     = var.delivery == "eventbridge" || local.malware_gate
  create_topic    = var.create_alarms && var.existing_sns_topic_arn == null
  alarm_topic_arn = var.existing_sns_topic_arn != null ? var.existing_sns_topic_arn : try(aws_sns_topic.alarms[0].arn, null)

  names = {
    queue    = "${var.name_prefix}-ingest"
    dlq      = "${var.name_prefix}-ingest-dlq"
    function = "${var.name_prefix}-processor"
    role     = "${var.name_prefix}-processor"
    rule     = "${var.name_prefix}-object-created"
    topic    = "${var.name_prefix}-alarms"
    # The dead-letter consumer and the migration: same zip, own handler, own role.
    deadletter = "${var.name_prefix}-deadletter"
    migrate    = "${var.name_prefix}-migrate"
  }
  log_group_name = "/aws/lambda/${local.names.function}"
  log_group_names = {
    deadletter = "/aws/lambda/${local.names.deadletter}"
    migrate    = "/aws/lambda/${local.names.migrate}"
  }
  log_group_arns = { for k, n in local.log_group_names : k => "arn:${local.partition}:logs:${local.region}:${var.account_id}:log-group:${n}" }

  # The ledger's status index (a contract with ferry.ledger.STATUS_INDEX) and
  # what it projects: what `ferry ls` and `ferry summary` show, not the history.
  ledger_status_index = "status-time"
  ledger_index_attributes = [
    "status", "bucket", "key", "version_id", "route", "processor", "reason", "attempt",
    "counts", "first_seen_at", "finished_at",
  ]

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
  }
  # The execution roles (no path), as key policies name them.
  role_arns = { for k, n in { processor = local.names.role, deadletter = local.names.deadletter, migrate = local.names.migrate } : k => "arn:${local.partition}:iam::${var.account_id}:role/${n}" }
  # Kept out of local.arns: checkov's HCL scan evaluates local.arns in the
  # queue policies and cannot evaluate an index by a for variable.
  function_arns = [for n in [local.names.function, local.names.deadletter, local.names.migrate] : "arn:${local.partition}:lambda:${local.region}:${var.account_id}:function:${n}"]

  # IAM database authentication (the processor logs in as a dedicated loader
  # role with a token) or a Secrets Manager secret (an existing database, the
  # local stack).
  db_iam_auth = var.database.iam_auth_user != ""
  # Which settings the function gets (its variable names, the role's
  # statements) follows facts known at plan time: database.enabled when it is
  # given, else whether host / secret_arn are set. The values themselves (an
  # RDS endpoint, a secret's ARN) may be known only after apply. Conditionals,
  # not && / ||: Terraform evaluates both operands, and an unknown one makes
  # the result unknown.
  db_enabled     = var.database.enabled != null ? var.database.enabled : var.database.host != ""
  db_secret_auth = local.db_iam_auth ? false : var.database.enabled != null ? var.database.enabled : var.database.secret_arn != ""
  # The RDS CA bundle `make build` packs into the zip when a CSV route exists.
  db_ca_bundle_path = "/var/task/ferry/certs/rds-ca-bundle.pem"
  csv_routes        = anytrue([for r in try(local.processing_config.routes, []) : try(r.processor, "") == "csv_postgres"])
  # Said by create_migration rather than read from database.master_secret_arn:
  # that ARN is unknown until the database exists, and counts must be known.
  create_migrate = local.create_function && var.create_migration && local.csv_routes

  database_environment = merge(
    local.db_enabled ? {
      FERRY_DB_HOST = var.database.host
      FERRY_DB_PORT = tostring(var.database.port)
    } : {},
    var.database.name == "" ? {} : { FERRY_DB_NAME = var.database.name },
  )

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
    local.database_environment,
    local.event_environment,
    local.malware_gate ? { FERRY_MALWARE_GATE = "on" } : {},
    var.container_lane.state_machine_arn == "" ? {} : {
      FERRY_STATE_MACHINE_ARN       = var.container_lane.state_machine_arn
      FERRY_CONTAINER_LEASE_SECONDS = tostring(var.container_lane.lease_seconds)
    },
    local.db_iam_auth ? {
      FERRY_DB_AUTH        = "iam"
      FERRY_DB_USER        = var.database.iam_auth_user
      FERRY_DB_SSLROOTCERT = local.db_ca_bundle_path
      } : local.db_secret_auth ? {
      FERRY_DB_AUTH       = "secret"
      FERRY_DB_SECRET_ARN = var.database.secret_arn
    } : {},
  )

  # The dead-letter consumer's variables (a contract with ferry.deadletter).
  deadletter_environment = merge({
    FERRY_LEDGER_TABLE      = local.table_names.ledger
    FERRY_LOG_LEVEL         = var.log_level
    FERRY_METRICS_NAMESPACE = local.metrics_namespace
    FERRY_ROLE              = "deadletter"
  }, local.event_environment)

  # The migration's variables (a contract with ferry.migrate_handler): it logs
  # in as the RDS master user and creates the loader role.
  migrate_environment = merge(local.database_environment, {
    FERRY_CONFIG_SHA256        = local.processing_config_sha256
    FERRY_DB_MASTER_SECRET_ARN = var.database.master_secret_arn
    FERRY_DB_USER              = var.database.iam_auth_user != "" ? var.database.iam_auth_user : "ferry_loader"
    FERRY_DB_SSLROOTCERT       = local.db_ca_bundle_path
    FERRY_LOG_LEVEL            = var.log_level
    FERRY_ROLE                 = "migrate"
  })

  # The two patterns differ in shape, so one is picked from a tuple.
  eventbridge_pattern = [local.scan_result_pattern, {
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = merge(
      { bucket = { name = [var.bucket_names.raw] } },
      local.routes_every_key ? {} : { object = { key = [for p in local.routed_prefixes : { prefix = p }] } },
    )
  }][local.malware_gate ? 0 : 1]

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
      # "Granting permissions to publish event notification messages to a
      # destination", https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
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
      # "Permissions for Amazon SQS" (EventBridge targets),
      # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
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

  # The rule's target dead-letter queue is the pipeline's DLQ, so an event
  # EventBridge could not deliver is marked dead_lettered like a file that
  # failed processing ("Using dead-letter queues to process undelivered
  # events", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq:
  # the queue policy lets events.amazonaws.com send with aws:SourceArn = the rule).
  # One literal document (the rule's ARN is this account's and this
  # pipeline's, so the statement is harmless without EventBridge delivery):
  # checkov's HCL scan can then evaluate it.
  dlq_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowObjectCreatedRuleDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.arns.dlq
        Condition = { ArnEquals = { "aws:SourceArn" = local.arns.rule } }
      },
      merge(local.deny_insecure_transport, { Resource = local.arns.dlq }),
    ]
  }

  # EventBridge passes the processor only what it reads from an Object
  # Created event (ferry.intake): bucket, the object (key, version-id, size,
  # etag, sequencer) and the time; requester, source IP and request ids stay
  # out of the queue. detail.object is inserted as JSON, so keys need no
  # escaping ("Amazon EventBridge input transformation",
  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
  eventbridge_input_paths = {
    bucket = "$.detail.bucket.name"
    object = "$.detail.object"
    time   = "$.time"
  }
  eventbridge_input_template = "{\"source\":\"aws.s3\",\"detail-type\":\"Object Created\",\"time\":\"<time>\",\"detail\":{\"bucket\":{\"name\":\"<bucket>\"},\"object\":<object>}}"

  topic_policy = {
    Version = "2012-10-17"
    Statement = [
      # "Amazon SNS topic policy for CloudWatch alarms" / "Using alarm actions",
      # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html
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
  name                      = local.names.dlq
  message_retention_seconds = 1209600 # 14 days, the SQS maximum
  # Lambda requires a visibility timeout of at least the consumer's timeout.
  visibility_timeout_seconds        = 6 * var.deadletter_timeout
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
  description   = local.malware_gate ? "GuardDuty scan results for ${var.bucket_names.raw} -> ${local.names.queue}" : "Object Created in ${var.bucket_names.raw} -> ${local.names.queue}"
  event_pattern = jsonencode(local.eventbridge_pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "queue" {
  count = local.eventbridge ? 1 : 0

  rule      = aws_cloudwatch_event_rule.object_created[0].name
  target_id = "ferry-ingest-queue"
  arn       = aws_sqs_queue.this.arn

  # A scan result goes as it is: it names the object and the verdict, nothing else.
  dynamic "input_transformer" {
    for_each = local.malware_gate ? [] : [1]
    content {
      input_paths    = local.eventbridge_input_paths
      input_template = local.eventbridge_input_template
    }
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
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

  # `ferry ls` / `ferry summary`: objects by status and time, a Query per day
  # (partition `<status>#<YYYY-MM-DD>`, sort `status_at`), never a Scan. Adding
  # or removing a global secondary index is an in-place update of the table.
  # "Using Global Secondary Indexes in DynamoDB",
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html
  dynamic "attribute" {
    for_each = var.ledger_status_index ? ["status_day", "status_at"] : []
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.ledger_status_index ? [local.ledger_status_index] : []
    content {
      name               = global_secondary_index.value
      hash_key           = "status_day"
      range_key          = "status_at"
      projection_type    = "INCLUDE"
      non_key_attributes = local.ledger_index_attributes
    }
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

# Shared by every function of the module: X-Ray and the VPC network
# interfaces Lambda creates with the function's role.
data "aws_iam_policy_document" "function_base" {
  # checkov:skip=CKV_AWS_111:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  # checkov:skip=CKV_AWS_356:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  # X-Ray trace submission has no resource-level permissions: AWS only accepts "*".
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  # Lambda checks these when it creates or updates a function in a VPC and
  # uses them to create and delete its network interfaces. AWS documents them
  # on "*" ("Giving Lambda functions access to resources in an Amazon VPC",
  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions;
  # AWS managed policy AWSLambdaVPCAccessExecutionRole): a statement scoped by
  # subnet or interface ARN makes CreateFunction fail ("The provided execution
  # role does not have permissions to call CreateNetworkInterface on EC2") and a
  # scoped DeleteNetworkInterface leaves interfaces behind, so subnet and
  # security-group destroys hang. Placement is enforced where AWS allows it:
  # on the deployer, with lambda:SubnetIds / lambda:SecurityGroupIds
  # (output deployer_placement_policy_json; "Using IAM condition keys for VPC
  # settings", https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#vpc-conditions).
  statement {
    sid = "NetworkInterfaces"
    actions = [
      "ec2:AssignPrivateIpAddresses",
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "processor" {
  source_policy_documents = [data.aws_iam_policy_document.function_base.json]

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

  # SSE-KMS: GetObject decrypts, PutObject asks for a data key; no
  # kms:Encrypt ("Protecting data with server-side encryption using AWS KMS
  # keys (SSE-KMS)", https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
  # SQS receive decrypts ("Key management - Amazon SQS",
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html);
  # DynamoDB reads and writes use the table key through DynamoDB
  # ("How Amazon DynamoDB uses AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html).
  statement {
    sid       = "UseDataKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = distinct([var.storage_kms_key_arn, var.operational_kms_key_arn])

    # Only through the services the code calls (S3 objects, DynamoDB items, SQS
    # messages): never the keys directly ("AWS KMS condition keys: kms:ViaService",
    # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [for service in ["s3", "dynamodb", "sqs"] : "${service}.${local.region}.amazonaws.com"]
    }
  }

  # An existing raw bucket encrypted with a key of its own: read only, through
  # S3. Present whenever the key is given (a fact known at plan time), not by
  # comparing it with the storage key, whose ARN may be known only after
  # apply: the statements would then be unknown until apply. Given the storage
  # key itself, it repeats part of UseDataKeys.
  dynamic "statement" {
    for_each = var.raw_bucket_kms_key_arn == null ? [] : [var.raw_bucket_kms_key_arn]
    content {
      sid       = "DecryptRawObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  # "Using Lambda with Amazon SQS" (execution role permissions),
  # https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions
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

  # Only without IAM database authentication (an existing database, the
  # local stack): with it, the processor cannot read the master secret.
  dynamic "statement" {
    for_each = local.db_secret_auth ? [var.database.secret_arn] : []
    content {
      sid       = "ReadDatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # "Creating and using an IAM policy for IAM database access",
  # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
  dynamic "statement" {
    for_each = local.db_iam_auth ? [1] : []
    content {
      sid       = "ConnectAsDatabaseUser"
      actions   = ["rds-db:connect"]
      resources = ["arn:${local.partition}:rds-db:${local.region}:${var.account_id}:dbuser:${var.database.resource_id}/${var.database.iam_auth_user}"]
    }
  }

  # The container lane's hand-off ("StartExecution",
  # https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
  dynamic "statement" {
    for_each = var.container_lane.state_machine_arn == "" ? [] : [var.container_lane.state_machine_arn]
    content {
      sid       = "HandOffLargeFiles"
      actions   = ["states:StartExecution"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arns.log_group}:*"]
  }

  # File events (events.tf): this bus, this source only.
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

resource "aws_iam_role" "processor" {
  count = 1 # also on the emulator: the local workers run as this role

  name                 = local.names.role
  description          = "Execution role of ${local.names.function}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "processor" {
  # checkov:skip=CKV_AWS_290:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  # checkov:skip=CKV_AWS_355:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  count = 1

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

  # Files are loaded only once the loader role and the tables exist.
  depends_on = [aws_iam_role_policy.processor, aws_lambda_invocation.migrate]
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
      function    = local.names.function
    }
    function-throttles = {
      description = "${local.names.function} was throttled: raise reserved_concurrent_executions or lower maximum_concurrency."
      metric      = "Throttles"
      function    = local.names.function
    }
    # The consumer empties the DLQ: its invocations are the dead-lettered files.
    files-dead-lettered = {
      description = "${local.names.deadletter} recorded dead-lettered files (ledger state dead_lettered): see `ferry reprocess`."
      metric      = "Invocations"
      function    = local.names.deadletter
    }
    deadletter-errors = {
      description = "${local.names.deadletter} reported errors: dead-lettered files may not be recorded in the ledger."
      metric      = "Errors"
      function    = local.names.deadletter
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
  dimensions          = { FunctionName = each.value.function }
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
