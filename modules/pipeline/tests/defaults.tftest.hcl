# Plan-only, offline: the defaults are secure and wired as documented.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix             = "ferry-test"
  account_id              = "111122223333"
  storage_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111"
  operational_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/22222222-2222-2222-2222-222222222222"
  logs_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-3333-3333-333333333333"
  processing_config       = file("tests/processing.json")
  bucket_names = {
    raw       = "ferry-test-raw"
    processed = "ferry-test-processed"
    failed    = "ferry-test-failed"
  }
  subnet_ids         = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  security_group_ids = ["sg-0a1b2c3d4e5f60003"]
  package_path       = "build/ferry-x86_64.zip"
  package_sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "queues_are_encrypted_and_redrive" {
  command = plan

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values          = { arn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq" }
  }

  assert {
    condition     = aws_sqs_queue.this.kms_master_key_id == var.operational_kms_key_arn && aws_sqs_queue.dlq.kms_master_key_id == var.operational_kms_key_arn
    error_message = "both queues must be encrypted with the operational CMK"
  }
  assert {
    condition     = aws_sqs_queue.this.visibility_timeout_seconds == 6 * 120
    error_message = "visibility timeout must be 6 x the function timeout"
  }
  assert {
    condition     = aws_sqs_queue.dlq.message_retention_seconds == 1209600
    error_message = "the DLQ must keep messages 14 days"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy) == { deadLetterTargetArn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq", maxReceiveCount = 5 }
    error_message = "the ingest queue must redrive to the DLQ after 5 receives"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.dlq.redrive_allow_policy) == { redrivePermission = "byQueue", sourceQueueArns = ["arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest"] }
    error_message = "only the ingest queue may use the DLQ"
  }
  assert {
    condition     = aws_sqs_queue.this.name == "ferry-test-ingest" && aws_sqs_queue.dlq.name == "ferry-test-ingest-dlq"
    error_message = "queue names must derive from var.name_prefix"
  }
}

run "queue_policy_allows_only_the_raw_bucket_and_denies_plain_http" {
  command = plan

  assert {
    condition     = [for s in jsondecode(aws_sqs_queue.this.policy).Statement : s.Sid] == ["AllowRawBucketNotifications", "DenyInsecureTransport"]
    error_message = "s3_notification delivery: the queue policy holds the S3 allow and the TLS deny, nothing else"
  }
  assert {
    condition = jsondecode(aws_sqs_queue.this.policy).Statement[0] == {
      Sid       = "AllowRawBucketNotifications"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest"
      Condition = {
        ArnEquals    = { "aws:SourceArn" = "arn:aws:s3:::ferry-test-raw" }
        StringEquals = { "aws:SourceAccount" = "111122223333" }
      }
    }
    error_message = "S3 may send only from the raw bucket in this account"
  }
  assert {
    condition = alltrue([
      for p in [aws_sqs_queue.this.policy, aws_sqs_queue.dlq.policy] :
      anytrue([for s in jsondecode(p).Statement : s.Effect == "Deny" && s.Condition == { Bool = { "aws:SecureTransport" = "false" } }])
    ])
    error_message = "both queues must deny requests without TLS"
  }
  assert {
    condition     = [for s in jsondecode(aws_sqs_queue.dlq.policy).Statement : "${s.Sid} ${jsonencode(s.Principal)} ${jsonencode(try(s.Condition.ArnEquals, null))}" if s.Effect == "Allow"] == ["AllowObjectCreatedRuleDeadLetters {\"Service\":\"events.amazonaws.com\"} {\"aws:SourceArn\":\"arn:aws:events:eu-west-1:111122223333:rule/ferry-test-object-created\"}"]
    error_message = "nothing but the pipeline's own EventBridge rule (its target dead-letter queue) may send to the DLQ directly"
  }
}

run "s3_notification_delivery_by_default" {
  command = plan

  override_resource {
    target          = aws_sqs_queue.this
    override_during = plan
    values          = { arn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest" }
  }

  assert {
    condition     = length(aws_s3_bucket_notification.raw) == 1 && aws_s3_bucket_notification.raw[0].bucket == "ferry-test-raw"
    error_message = "the module writes the raw bucket's notification configuration by default"
  }
  assert {
    condition = [
      for q in aws_s3_bucket_notification.raw[0].queue : "${q.id} ${q.queue_arn} ${q.filter_prefix} ${q.filter_suffix == null ? "-" : q.filter_suffix}"
      ] == [
      "ferry-prefix-0 arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest documents/ -",
      "ferry-prefix-1 arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest incoming/telemetry/ -",
    ]
    error_message = "one queue notification per distinct route prefix of processing_config, sorted, and never a suffix filter (suffixes are matched by ferry)"
  }
  assert {
    condition     = alltrue([for q in aws_s3_bucket_notification.raw[0].queue : q.events == toset(["s3:ObjectCreated:*"])])
    error_message = "every prefix listens to ObjectCreated"
  }
  assert {
    condition     = output.routed_prefixes == tolist(["documents/", "incoming/telemetry/"])
    error_message = "routed_prefixes output: the derived filters"
  }
  assert {
    condition     = aws_s3_bucket_notification.raw[0].eventbridge != true
    error_message = "EventBridge delivery is off by default"
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.object_created) == 0 && length(aws_cloudwatch_event_target.queue) == 0
    error_message = "no EventBridge rule in s3_notification mode"
  }
}

run "tables_are_encrypted_recoverable_and_protected" {
  command = plan

  assert {
    condition = alltrue([
      for t in [aws_dynamodb_table.ledger, aws_dynamodb_table.records, aws_dynamodb_table.metadata] :
      t.billing_mode == "PAY_PER_REQUEST" && t.deletion_protection_enabled == true &&
      t.point_in_time_recovery[0].enabled == true &&
      t.server_side_encryption[0].enabled == true && t.server_side_encryption[0].kms_key_arn == var.operational_kms_key_arn
    ])
    error_message = "every table: on demand, deletion protection, PITR, SSE with the operational CMK"
  }
  assert {
    condition     = aws_dynamodb_table.ledger.hash_key == "ledger_id" && aws_dynamodb_table.ledger.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.ledger.ttl[0].enabled == true
    error_message = "ledger: hash key ledger_id, TTL on expires_at"
  }
  assert {
    condition     = aws_dynamodb_table.records.hash_key == "device_id" && aws_dynamodb_table.records.range_key == "timestamp" && aws_dynamodb_table.records.attribute == toset([{ name = "device_id", type = "S" }, { name = "timestamp", type = "S" }])
    error_message = "records: device_id (S) partition, timestamp (S) sort"
  }
  assert {
    condition     = aws_dynamodb_table.metadata.hash_key == "documentId" && aws_dynamodb_table.metadata.attribute == toset([{ name = "documentId", type = "S" }])
    error_message = "metadata: documentId (S) hash key"
  }
  assert {
    condition     = output.table_names == { ledger = "ferry-test-ledger", records = "ferry-test-records", metadata = "ferry-test-metadata" }
    error_message = "table_names output by role"
  }
}

run "function_is_private_traced_and_encrypted" {
  command = plan

  assert {
    condition     = aws_lambda_function.processor[0].runtime == "python3.12" && aws_lambda_function.processor[0].handler == "ferry.handler.handler" && aws_lambda_function.processor[0].architectures == tolist(["x86_64"])
    error_message = "defaults: python3.12, ferry.handler.handler, x86_64"
  }
  assert {
    condition     = aws_lambda_function.processor[0].filename == var.package_path && aws_lambda_function.processor[0].source_code_hash == var.package_sha256
    error_message = "the function deploys the given package and hash"
  }
  assert {
    condition     = aws_lambda_function.processor[0].tracing_config[0].mode == "Active"
    error_message = "X-Ray tracing must be Active"
  }
  assert {
    condition     = aws_lambda_function.processor[0].vpc_config[0].subnet_ids == toset(var.subnet_ids) && aws_lambda_function.processor[0].vpc_config[0].security_group_ids == toset(var.security_group_ids)
    error_message = "the function must run in the given private subnets and security groups"
  }
  assert {
    condition     = aws_lambda_function.processor[0].kms_key_arn == var.operational_kms_key_arn
    error_message = "environment variables must be encrypted with the operational CMK"
  }
  assert {
    condition     = aws_lambda_function.processor[0].reserved_concurrent_executions == 10 && aws_lambda_function.processor[0].timeout == 120
    error_message = "defaults: 10 reserved executions, 120 s timeout"
  }
  assert {
    condition     = aws_lambda_function.processor[0].logging_config[0].log_format == "JSON" && aws_lambda_function.processor[0].logging_config[0].log_group == "/aws/lambda/ferry-test-processor"
    error_message = "JSON logs into the module's own log group"
  }
  assert {
    condition     = aws_lambda_function.processor[0].code_signing_config_arn == null && length(aws_lambda_code_signing_config.processor) == 0
    error_message = "code signing is opt-in"
  }
  assert {
    condition     = length(aws_lambda_function.processor[0].dead_letter_config) == 0
    error_message = "an SQS-triggered function needs no function DLQ (the queue redrives)"
  }
}

run "log_group_is_created_first_with_kms_and_retention" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.processor[0].name == "/aws/lambda/ferry-test-processor"
    error_message = "log group must be /aws/lambda/<function name>"
  }
  assert {
    condition     = aws_cloudwatch_log_group.processor[0].kms_key_id == var.logs_kms_key_arn && aws_cloudwatch_log_group.processor[0].retention_in_days == 365
    error_message = "log group: logs CMK, one year retention by default"
  }
  assert {
    condition     = output.log_group_name == "/aws/lambda/ferry-test-processor"
    error_message = "log_group_name output"
  }
}

run "function_environment_is_the_documented_contract" {
  command = plan

  assert {
    condition = aws_lambda_function.processor[0].environment[0].variables == tomap({
      FERRY_CONFIG_SHA256    = sha256(file("tests/processing.json"))
      FERRY_LEDGER_TABLE     = "ferry-test-ledger"
      FERRY_RECORDS_TABLE    = "ferry-test-records"
      FERRY_METADATA_TABLE   = "ferry-test-metadata"
      FERRY_PROCESSED_BUCKET = "ferry-test-processed"
      FERRY_FAILED_BUCKET    = "ferry-test-failed"
      FERRY_LEDGER_TTL_DAYS  = "90"
      FERRY_EVENT_BUS        = "ferry-test-files"
      FERRY_EVENT_SOURCE     = "ferry.ferry-test"
    })
    error_message = "without a database the function gets exactly the configuration hash, table, bucket, TTL and file-event variables"
  }
  assert {
    condition     = output.processing_config_sha256 == "${sha256(file("tests/processing.json"))}" && length(output.processing_config_sha256) == 64
    error_message = "the configuration hash is the hex SHA-256 of the exact configuration text"
  }
  assert {
    condition     = aws_lambda_function.processor[0].layers == null || length(coalesce(aws_lambda_function.processor[0].layers, [])) == 0
    error_message = "no layers unless asked"
  }
}

run "event_source_mapping_reports_partial_failures" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.queue[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the event source must report batch item failures"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.queue[0].batch_size == 10 && aws_lambda_event_source_mapping.queue[0].maximum_batching_window_in_seconds == 0 && aws_lambda_event_source_mapping.queue[0].scaling_config[0].maximum_concurrency == 5
    error_message = "defaults: batches of 10, no window, at most 5 concurrent"
  }
}

run "role_trusts_lambda_in_this_account_only" {
  command = plan

  assert {
    condition     = aws_iam_role.processor[0].name == "ferry-test-processor" && aws_iam_role.processor[0].permissions_boundary == null
    error_message = "one role per function, named after it"
  }
  assert {
    condition = (
      one(data.aws_iam_policy_document.assume.statement[0].principals).type == "Service" &&
      toset(one(data.aws_iam_policy_document.assume.statement[0].principals).identifiers) == toset(["lambda.amazonaws.com"]) &&
      one(data.aws_iam_policy_document.assume.statement[0].condition).test == "StringEquals" &&
      one(data.aws_iam_policy_document.assume.statement[0].condition).variable == "aws:SourceAccount" &&
      toset(one(data.aws_iam_policy_document.assume.statement[0].condition).values) == toset(["111122223333"])
    )
    error_message = "trust: lambda.amazonaws.com with aws:SourceAccount"
  }
}

run "role_policy_is_least_privilege" {
  command = plan

  assert {
    condition     = alltrue(flatten([for s in data.aws_iam_policy_document.processor.statement : [for a in s.actions : !strcontains(a, "*")]]))
    error_message = "no wildcard actions"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.processor.statement : !contains(s.resources, "*")
    ])
    error_message = "the processor's own statements never use resource \"*\" (X-Ray and network interfaces are in function_base)"
  }
  assert {
    condition = { for s in data.aws_iam_policy_document.processor.statement : s.sid => s.resources } == {
      ReadRawObjects     = toset(["arn:aws:s3:::ferry-test-raw/*"])
      WriteResults       = toset(["arn:aws:s3:::ferry-test-processed/*", "arn:aws:s3:::ferry-test-failed/*"])
      UseDataKeys        = toset([var.storage_kms_key_arn, var.operational_kms_key_arn])
      ConsumeIngestQueue = toset(["arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest"])
      UseTables = toset([
        "arn:aws:dynamodb:eu-west-1:111122223333:table/ferry-test-ledger",
        "arn:aws:dynamodb:eu-west-1:111122223333:table/ferry-test-records",
        "arn:aws:dynamodb:eu-west-1:111122223333:table/ferry-test-metadata",
      ])
      WriteOwnLogs      = toset(["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/ferry-test-processor:*"])
      PublishFileEvents = toset(["arn:aws:events:eu-west-1:111122223333:event-bus/ferry-test-files"])
    }
    error_message = "by default the role holds exactly these statements, each scoped to the module's own resources"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.processor.statement : toset(s.actions) if s.sid == "UseDataKeys"][0] == toset(["kms:Decrypt", "kms:GenerateDataKey"])
    error_message = "the processor decrypts and asks for data keys (SSE-KMS PutObject); it never calls kms:Encrypt"
  }
  assert {
    condition     = toset(data.aws_iam_policy_document.processor.source_policy_documents) == toset([data.aws_iam_policy_document.function_base.json])
    error_message = "the processor's policy includes the shared X-Ray and network-interface statements"
  }
  assert {
    condition = { for s in data.aws_iam_policy_document.function_base.statement : s.sid => { actions = s.actions, resources = s.resources, conditions = length(s.condition) } } == {
      WriteTraces = { actions = toset(["xray:PutTelemetryRecords", "xray:PutTraceSegments"]), resources = toset(["*"]), conditions = 0 }
      NetworkInterfaces = {
        actions = toset([
          "ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
          "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses",
        ])
        resources  = toset(["*"])
        conditions = 0
      }
    }
    error_message = "network-interface permissions are the ones Lambda documents, on \"*\" and unconditioned (a subnet-scoped CreateNetworkInterface fails CreateFunction; a scoped DeleteNetworkInterface strands interfaces)"
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.deployer_placement_policy_json).Statement : s.Effect == "Deny" && contains(s.Resource, "arn:aws:lambda:eu-west-1:111122223333:function:ferry-test-processor")
    ]) && [for s in jsondecode(output.deployer_placement_policy_json).Statement : s.Condition["ForAnyValue:StringNotEquals"]["lambda:SubnetIds"] if s.Sid == "OnlyInTheirSubnets"][0] == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    error_message = "placement is enforced on the deployer: no function of the module outside its subnets"
  }
  assert {
    condition     = { for s in data.aws_iam_policy_document.processor.statement : s.sid => s.actions if contains(["ReadRawObjects", "WriteResults", "UseTables"], s.sid) } == { ReadRawObjects = toset(["s3:GetObject", "s3:GetObjectVersion"]), WriteResults = toset(["s3:PutObject"]), UseTables = toset(["dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]) }
    error_message = "object and table actions are exactly the documented ones (no raw delete by default)"
  }
}

run "alarms_notify_an_encrypted_topic" {
  command = plan

  override_resource {
    target          = aws_sns_topic.alarms
    override_during = plan
    values          = { arn = "arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms" }
  }

  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == var.operational_kms_key_arn
    error_message = "the alarm topic must be encrypted with the operational CMK"
  }
  assert {
    condition = jsondecode(aws_sns_topic.alarms[0].policy).Statement[0] == {
      Sid       = "AllowCloudWatchAlarms"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = "arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms"
      Condition = { StringEquals = { "aws:SourceAccount" = "111122223333" } }
    }
    error_message = "only CloudWatch in this account may publish"
  }
  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.queue) == ["dlq-not-empty", "queue-oldest-message-age"] && keys(aws_cloudwatch_metric_alarm.function) == ["deadletter-errors", "files-dead-lettered", "function-errors", "function-throttles"]
    error_message = "six alarms: DLQ depth, queue age, function errors, function throttles, dead-lettered files, dead-letter consumer errors"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.queue["dlq-not-empty"].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.queue["dlq-not-empty"].dimensions == tomap({ QueueName = "ferry-test-ingest-dlq" }) &&
      aws_cloudwatch_metric_alarm.queue["dlq-not-empty"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.queue["queue-oldest-message-age"].metric_name == "ApproximateAgeOfOldestMessage" &&
      aws_cloudwatch_metric_alarm.queue["queue-oldest-message-age"].dimensions == tomap({ QueueName = "ferry-test-ingest" }) &&
      aws_cloudwatch_metric_alarm.queue["queue-oldest-message-age"].threshold == 900
    )
    error_message = "queue alarms: DLQ visible > 0 and oldest message age > 900 s"
  }
  assert {
    condition = alltrue([
      for k, a in aws_cloudwatch_metric_alarm.function :
      a.namespace == "AWS/Lambda" && a.dimensions == tomap({ FunctionName = startswith(k, "function-") ? "ferry-test-processor" : "ferry-test-deadletter" }) && a.threshold == 0 && a.comparison_operator == "GreaterThanThreshold"
    ])
    error_message = "function alarms: Errors > 0 and Throttles > 0 on the processor, Invocations > 0 and Errors > 0 on the dead-letter consumer"
  }
  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "no subscriptions unless asked"
  }
  assert {
    condition = alltrue([
      for a in concat(values(aws_cloudwatch_metric_alarm.queue), values(aws_cloudwatch_metric_alarm.function)) :
      a.alarm_actions == toset(["arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms"])
    ])
    error_message = "every alarm notifies the module's topic"
  }
}
