# Plan-only, offline: each delivery mode, option and opt-out changes exactly what it says.

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

run "eventbridge_delivery" {
  command = plan

  variables {
    delivery = "eventbridge"
  }

  override_resource {
    target          = aws_sqs_queue.this
    override_during = plan
    values          = { arn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest" }
  }
  override_resource {
    target          = aws_cloudwatch_event_rule.object_created
    override_during = plan
    values          = { arn = "arn:aws:events:eu-west-1:111122223333:rule/ferry-test-object-created" }
  }

  assert {
    condition     = aws_s3_bucket_notification.raw[0].eventbridge == true && length(aws_s3_bucket_notification.raw[0].queue) == 0
    error_message = "eventbridge mode: the bucket sends to EventBridge and notifies no queue directly"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.object_created[0].name == "ferry-test-object-created"
    error_message = "one rule, named after the pipeline"
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.object_created[0].event_pattern) == {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
      detail = {
        bucket = { name = ["ferry-test-raw"] }
        object = { key = [{ prefix = "documents/" }, { prefix = "incoming/telemetry/" }] }
      }
    }
    error_message = "the rule matches Object Created in the raw bucket under each distinct route prefix, never by suffix"
  }
  assert {
    condition     = aws_cloudwatch_event_target.queue[0].arn == "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest" && aws_cloudwatch_event_target.queue[0].rule == "ferry-test-object-created"
    error_message = "the rule targets the ingest queue"
  }
  assert {
    condition     = [for s in jsondecode(aws_sqs_queue.this.policy).Statement : s.Sid] == ["AllowObjectCreatedRule", "DenyInsecureTransport"]
    error_message = "eventbridge mode: only the rule may send (no S3 statement)"
  }
  assert {
    condition = jsondecode(aws_sqs_queue.this.policy).Statement[0].Principal == { Service = "events.amazonaws.com" } && jsondecode(aws_sqs_queue.this.policy).Statement[0].Condition == {
      ArnEquals    = { "aws:SourceArn" = "arn:aws:events:eu-west-1:111122223333:rule/ferry-test-object-created" }
      StringEquals = { "aws:SourceAccount" = "111122223333" }
    }
    error_message = "EventBridge may send only for this rule in this account"
  }
  assert {
    condition     = output.eventbridge_rule_arn == "arn:aws:events:eu-west-1:111122223333:rule/ferry-test-object-created"
    error_message = "eventbridge_rule_arn is set in eventbridge mode"
  }
}

run "eventbridge_with_an_empty_prefix_matches_the_whole_bucket" {
  command = plan

  variables {
    delivery          = "eventbridge"
    processing_config = jsonencode({ routes = [{ name = "csv", prefix = "in/", suffix = ".csv" }, { name = "anything", suffix = ".pdf" }] })
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_cloudwatch_event_rule.object_created[0].event_pattern).detail), "object")
    error_message = "a route without a prefix covers every key: no key filter"
  }
  assert {
    condition     = output.routed_prefixes == tolist([""])
    error_message = "the empty prefix covers every other prefix"
  }
}

run "s3_notification_prefixes_are_distinct_and_minimised" {
  command = plan

  variables {
    processing_config = jsonencode({
      routes = [
        { name = "orders", prefix = "incoming/orders/", suffix = ".csv" },
        { name = "orders-gz", prefix = "incoming/orders/", suffix = ".csv.gz" },
        { name = "reports", prefix = "incoming/reports/2024/", suffix = ".json" },
        { name = "reports-other", prefix = "incoming/reports/", suffix = ".json" },
        { name = "documents", prefix = "Documents/" },
      ]
    })
  }

  assert {
    condition = [
      for q in aws_s3_bucket_notification.raw[0].queue :
      "${q.id} ${q.filter_prefix} ${q.filter_suffix == null ? "-" : q.filter_suffix}"
    ] == ["ferry-prefix-0 Documents/ -", "ferry-prefix-1 incoming/orders/ -", "ferry-prefix-2 incoming/reports/ -"]
    error_message = "one notification per distinct prefix, a prefix covered by a shorter one dropped (S3 rejects overlapping filters), no suffix filters, prefixes case-sensitive"
  }
}

run "s3_notification_every_key" {
  command = plan

  variables {
    processing_config = jsonencode({ routes = [{ name = "everything" }] })
  }

  assert {
    condition     = length(aws_s3_bucket_notification.raw[0].queue) == 1 && aws_s3_bucket_notification.raw[0].queue[0].filter_prefix == null && aws_s3_bucket_notification.raw[0].queue[0].filter_suffix == null
    error_message = "a route without a prefix: one unfiltered queue notification"
  }
}

run "the_configuration_hash_follows_the_exact_text" {
  command = plan

  variables {
    # The same document as tests/processing.json, formatted differently: another hash.
    processing_config = jsonencode(jsondecode(file("tests/processing.json")))
  }

  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["FERRY_CONFIG_SHA256"] == sha256(jsonencode(jsondecode(file("tests/processing.json")))) && aws_lambda_function.processor[0].environment[0].variables["FERRY_CONFIG_SHA256"] != sha256(file("tests/processing.json"))
    error_message = "FERRY_CONFIG_SHA256 is the SHA-256 of the configuration bytes as given, so only the very same file matches the zip"
  }
}

run "existing_raw_bucket_with_s3_notification" {
  command = plan

  variables {
    create_bucket_notification = false
  }

  assert {
    condition     = length(aws_s3_bucket_notification.raw) == 0
    error_message = "create_bucket_notification = false: the bucket's notification configuration is left to its owner"
  }
  assert {
    condition     = [for s in jsondecode(aws_sqs_queue.this.policy).Statement : s.Sid] == ["AllowRawBucketNotifications", "DenyInsecureTransport"] && output.routed_prefixes == tolist(["documents/", "incoming/telemetry/"])
    error_message = "the queue still accepts the raw bucket's notifications, and the prefixes the owner should notify are an output"
  }
}

run "existing_raw_bucket_with_eventbridge" {
  command = plan

  variables {
    create_bucket_notification = false
    delivery                   = "eventbridge"
  }

  assert {
    condition     = length(aws_s3_bucket_notification.raw) == 0 && length(aws_cloudwatch_event_rule.object_created) == 1 && length(aws_cloudwatch_event_target.queue) == 1
    error_message = "eventbridge without the bucket notification: the rule and target only (the owner turns EventBridge on)"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.object_created[0].event_pattern).detail.bucket == { name = ["ferry-test-raw"] }
    error_message = "the rule matches the existing bucket's Object Created events"
  }
}

run "existing_alarm_topic" {
  command = plan

  variables {
    existing_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:platform-alarms"
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "an existing topic: no topic, topic policy or subscriptions created"
  }
  assert {
    condition = alltrue([
      for a in concat(values(aws_cloudwatch_metric_alarm.queue), values(aws_cloudwatch_metric_alarm.function)) :
      a.alarm_actions == toset(["arn:aws:sns:eu-west-1:111122223333:platform-alarms"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:111122223333:platform-alarms"])
    ]) && length(aws_cloudwatch_metric_alarm.queue) == 2 && length(aws_cloudwatch_metric_alarm.function) == 4
    error_message = "all six alarms notify the existing topic"
  }
  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:eu-west-1:111122223333:platform-alarms"
    error_message = "alarm_topic_arn is the existing topic"
  }
}

run "layers_and_exec_wrapper" {
  command = plan

  variables {
    layers = [
      "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-amd64-ver-1-32-0:2",
      "arn:aws:lambda:eu-west-1:111122223333:layer:ferry-extras:7",
    ]
    environment_variables = {
      AWS_LAMBDA_EXEC_WRAPPER               = "/opt/otel-instrument"
      OTEL_PROPAGATORS                      = "xray"
      OTEL_PYTHON_DISABLED_INSTRUMENTATIONS = "urllib3"
    }
  }

  assert {
    condition     = aws_lambda_function.processor[0].layers == tolist(["arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-amd64-ver-1-32-0:2", "arn:aws:lambda:eu-west-1:111122223333:layer:ferry-extras:7"])
    error_message = "the layers are attached in the given order"
  }
  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument" && aws_lambda_function.processor[0].environment[0].variables["OTEL_PROPAGATORS"] == "xray"
    error_message = "AWS_LAMBDA_EXEC_WRAPPER (and the extension's settings) reach the function"
  }
}

run "without_function" {
  command = plan

  variables {
    create_function = false
  }

  assert {
    condition = (
      length(aws_lambda_function.processor) == 0 && length(aws_iam_role.processor) == 1 &&
      length(aws_iam_role_policy.processor) == 1 && length(aws_cloudwatch_log_group.processor) == 0 &&
      length(aws_lambda_event_source_mapping.queue) == 0 && length(aws_cloudwatch_metric_alarm.function) == 0
    )
    error_message = "create_function = false removes the function, its log group, event source and function alarms; its role stays for the local poller"
  }
  assert {
    condition = (
      length(aws_lambda_function.deadletter) == 0 && length(aws_iam_role.deadletter) == 1 && length(aws_lambda_event_source_mapping.deadletter) == 0 &&
      length(aws_cloudwatch_log_group.deadletter) == 0 && length(aws_lambda_function.migrate) == 0 && length(aws_lambda_invocation.migrate) == 0
    )
    error_message = "nor any dead-letter consumer or migration function"
  }
  assert {
    condition     = output.deadletter_environment == { FERRY_LEDGER_TABLE = "ferry-test-ledger", FERRY_LOG_LEVEL = "INFO", FERRY_METRICS_NAMESPACE = "Ferry", FERRY_ROLE = "deadletter", FERRY_EVENT_BUS = "ferry-test-files", FERRY_EVENT_SOURCE = "ferry.ferry-test" }
    error_message = "the dead-letter consumer's environment is an output for a local runner"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.queue) == 2 && length(aws_s3_bucket_notification.raw[0].queue) == 2
    error_message = "queues, delivery and queue alarms stay"
  }
  assert {
    condition     = output.function_name == null && output.function_arn == null && output.log_group_name == null && output.event_source_mapping_uuid == null
    error_message = "function outputs are null without a function"
  }
  assert {
    condition     = output.function_environment.FERRY_LEDGER_TABLE == "ferry-test-ledger"
    error_message = "the environment a local runner needs is still an output"
  }
}

run "without_event_source_mapping" {
  command = plan

  variables {
    create_event_source_mapping = false
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.queue) == 0 && length(aws_lambda_function.processor) == 1
    error_message = "create_event_source_mapping = false removes only the event source mapping"
  }
}

run "without_dlq_redrive_allow_policy" {
  command = plan

  variables {
    dlq_redrive_allow_policy = false
  }

  # A mocked computed value only shows when the configuration leaves the attribute unset.
  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values          = { redrive_allow_policy = "left-to-the-provider" }
  }

  assert {
    condition     = aws_sqs_queue.dlq.redrive_allow_policy == "left-to-the-provider" && aws_sqs_queue.dlq.message_retention_seconds == 1209600 && aws_sqs_queue.dlq.kms_master_key_id == var.operational_kms_key_arn
    error_message = "dlq_redrive_allow_policy = false drops only the redrive allow policy"
  }
}

run "without_alarms" {
  command = plan

  variables {
    create_alarms       = false
    notification_emails = ["ops@example.com"]
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_cloudwatch_metric_alarm.queue) == 0 && length(aws_cloudwatch_metric_alarm.function) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "create_alarms = false removes the topic, its subscriptions and every alarm"
  }
  assert {
    condition     = output.alarm_topic_arn == null && output.alarm_names == []
    error_message = "alarm outputs are empty without alarms"
  }
}

run "email_subscriptions" {
  command = plan

  variables {
    notification_emails = ["ops@example.com", "data@example.com"]
  }

  assert {
    condition     = keys(aws_sns_topic_subscription.email) == ["data@example.com", "ops@example.com"] && alltrue([for s in values(aws_sns_topic_subscription.email) : s.protocol == "email"])
    error_message = "one email subscription per address"
  }
}

run "database_with_secret" {
  command = plan

  variables {
    database = {
      host       = "ferry.cluster-abc.eu-west-1.rds.amazonaws.com"
      name       = "ferry"
      secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf"
    }
  }

  assert {
    condition = (
      aws_lambda_function.processor[0].environment[0].variables["FERRY_DB_HOST"] == "ferry.cluster-abc.eu-west-1.rds.amazonaws.com" &&
      aws_lambda_function.processor[0].environment[0].variables["FERRY_DB_PORT"] == "5432" &&
      aws_lambda_function.processor[0].environment[0].variables["FERRY_DB_NAME"] == "ferry" &&
      aws_lambda_function.processor[0].environment[0].variables["FERRY_DB_SECRET_ARN"] == "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf" &&
      aws_lambda_function.processor[0].environment[0].variables["FERRY_DB_AUTH"] == "secret"
    )
    error_message = "the database settings reach the function as FERRY_DB_*"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.processor.statement : { actions = s.actions, resources = s.resources } if s.sid == "ReadDatabaseSecret"
      ] == [{
        actions   = toset(["secretsmanager:GetSecretValue"])
        resources = toset(["arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf"])
    }]
    error_message = "the role may read exactly the database secret"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.processor.statement : s if s.sid == "ConnectAsDatabaseUser"]) == 0
    error_message = "no rds-db:connect without IAM authentication"
  }
}

run "database_with_iam_auth" {
  command = plan

  variables {
    database = {
      host          = "ferry.abc.eu-west-1.rds.amazonaws.com"
      port          = 6432
      iam_auth_user = "ferry_loader"
      resource_id   = "db-ABCDEFGHIJKL"
      # Given alongside IAM authentication, the secret is not the processor's.
      secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-0a1b2c3d-AbCdEf"
    }
  }

  assert {
    condition = {
      for k, v in aws_lambda_function.processor[0].environment[0].variables : k => v if startswith(k, "FERRY_DB_")
      } == {
      FERRY_DB_HOST        = "ferry.abc.eu-west-1.rds.amazonaws.com"
      FERRY_DB_PORT        = "6432"
      FERRY_DB_AUTH        = "iam"
      FERRY_DB_USER        = "ferry_loader"
      FERRY_DB_SSLROOTCERT = "/var/task/ferry/certs/rds-ca-bundle.pem"
    }
    error_message = "IAM authentication: FERRY_DB_AUTH=iam, the loader user and the packed CA bundle; no secret ARN"
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.processor.statement : { actions = s.actions, resources = s.resources } if s.sid == "ConnectAsDatabaseUser"
      ] == [{
        actions   = toset(["rds-db:connect"])
        resources = toset(["arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABCDEFGHIJKL/ferry_loader"])
    }]
    error_message = "IAM authentication: rds-db:connect for that one database user"
  }
  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["FERRY_DB_PORT"] == "6432" && !contains(keys(aws_lambda_function.processor[0].environment[0].variables), "FERRY_DB_SECRET_ARN") && !contains(keys(aws_lambda_function.processor[0].environment[0].variables), "FERRY_DB_NAME")
    error_message = "no secret ARN or database name variables when not given"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.processor.statement : s if s.sid == "ReadDatabaseSecret"]) == 0
    error_message = "with IAM authentication the processor cannot read the secret"
  }
}

run "delete_raw_after_processing" {
  command = plan

  variables {
    delete_raw_after_processing = true
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.processor.statement : { actions = s.actions, resources = s.resources } if s.sid == "DeleteProcessedRawObjects"
    ] == [{ actions = toset(["s3:DeleteObject"]), resources = toset(["arn:aws:s3:::ferry-test-raw/*"]) }]
    error_message = "delete_raw_after_processing adds s3:DeleteObject on raw objects only"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.processor.statement) == 8 # with PublishFileEvents
    error_message = "and nothing else"
  }
}

run "extra_environment_and_tuning" {
  command = plan

  variables {
    environment_variables              = { POWERTOOLS_SERVICE_NAME = "ferry", API_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-x", DB_PASSWORD_NAME = "/ferry/db", FERRY_METRICS_NAMESPACE = "FerryDev" }
    runtime                            = "python3.13"
    architecture                       = "arm64"
    memory_size                        = 2048
    timeout                            = 300
    reserved_concurrent_executions     = -1
    maximum_concurrency                = 50
    batch_size                         = 100
    maximum_batching_window_in_seconds = 5
    max_receive_count                  = 3
    log_retention_days                 = 90
    ledger_ttl_days                    = 30
    deletion_protection_enabled        = false
    role_permissions_boundary_arn      = "arn:aws:iam::111122223333:policy/boundary"
  }

  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["POWERTOOLS_SERVICE_NAME"] == "ferry" && aws_lambda_function.processor[0].environment[0].variables["API_SECRET_ARN"] != "" && aws_lambda_function.processor[0].environment[0].variables["DB_PASSWORD_NAME"] == "/ferry/db" && aws_lambda_function.processor[0].environment[0].variables["FERRY_METRICS_NAMESPACE"] == "FerryDev" && aws_lambda_function.processor[0].environment[0].variables["FERRY_LEDGER_TTL_DAYS"] == "30"
    error_message = "extra variables (secret references by ARN/name, processor settings) are merged with the FERRY_* ones"
  }
  assert {
    condition     = aws_lambda_function.processor[0].runtime == "python3.13" && aws_lambda_function.processor[0].architectures == tolist(["arm64"]) && aws_lambda_function.processor[0].memory_size == 2048
    error_message = "runtime, architecture and memory follow the inputs"
  }
  assert {
    condition     = aws_sqs_queue.this.visibility_timeout_seconds == 1800 && aws_lambda_function.processor[0].timeout == 300
    error_message = "visibility timeout follows the function timeout (6 x 300)"
  }
  assert {
    condition     = aws_lambda_function.processor[0].reserved_concurrent_executions == -1 && aws_lambda_event_source_mapping.queue[0].scaling_config[0].maximum_concurrency == 50
    error_message = "-1 opts out of reserved concurrency"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.queue[0].batch_size == 100 && aws_lambda_event_source_mapping.queue[0].maximum_batching_window_in_seconds == 5
    error_message = "batching follows the inputs"
  }
  assert {
    condition     = aws_cloudwatch_log_group.processor[0].retention_in_days == 90 && aws_iam_role.processor[0].permissions_boundary == "arn:aws:iam::111122223333:policy/boundary"
    error_message = "log retention and permissions boundary follow the inputs"
  }
  assert {
    condition     = alltrue([for t in [aws_dynamodb_table.ledger, aws_dynamodb_table.records, aws_dynamodb_table.metadata] : t.deletion_protection_enabled == false && t.point_in_time_recovery[0].enabled == true])
    error_message = "deletion protection can be turned off; PITR stays"
  }
}

run "code_signing_opt_in" {
  command = plan

  variables {
    code_signing = {
      signing_profile_version_arns = ["arn:aws:signer:eu-west-1:111122223333:/signing-profiles/ferry/abcdef1234"]
    }
  }

  assert {
    condition     = length(aws_lambda_code_signing_config.processor) == 1 && aws_lambda_code_signing_config.processor[0].policies[0].untrusted_artifact_on_deployment == "Enforce"
    error_message = "signing profiles create an enforcing code signing config"
  }
  assert {
    condition     = toset(aws_lambda_code_signing_config.processor[0].allowed_publishers[0].signing_profile_version_arns) == toset(["arn:aws:signer:eu-west-1:111122223333:/signing-profiles/ferry/abcdef1234"])
    error_message = "only the given signing profiles are trusted"
  }
}

run "other_partition" {
  command = plan

  variables {
    storage_kms_key_arn     = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/11111111-1111-1111-1111-111111111111"
    operational_kms_key_arn = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
    logs_kms_key_arn        = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/33333333-3333-3333-3333-333333333333"
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-us-gov" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "us-gov-west-1" }
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.processor.statement : s.resources if s.sid == "ConsumeIngestQueue"]) == toset(["arn:aws-us-gov:sqs:us-gov-west-1:111122223333:ferry-test-ingest"])
    error_message = "ARNs follow the provider's partition and Region (a multi-Region key is accepted)"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.this.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == "arn:aws-us-gov:s3:::ferry-test-raw"
    error_message = "bucket ARNs follow the partition"
  }
}

run "existing_raw_bucket_key_is_decrypt_only" {
  command = plan

  variables {
    raw_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
  }

  assert {
    condition = jsonencode([
      for s in data.aws_iam_policy_document.processor.statement : [s.actions, s.resources, [for c in s.condition : [c.variable, c.values]]]
      if s.sid == "DecryptRawObjects"
    ]) == jsonencode([[["kms:Decrypt"], [var.raw_bucket_kms_key_arn], [["kms:ViaService", ["s3.eu-west-1.amazonaws.com"]]]]])
    error_message = "the processor may only decrypt with an existing raw bucket's own key, through S3"
  }
}

run "key_user_roles_are_known_from_their_names" {
  command = plan

  assert {
    condition = jsonencode(output.key_user_role_arns) == jsonencode({
      operational = ["arn:aws:iam::111122223333:role/ferry-test-processor", "arn:aws:iam::111122223333:role/ferry-test-deadletter"]
      storage     = ["arn:aws:iam::111122223333:role/ferry-test-processor"]
    })
    error_message = "key users are the execution roles' ARNs built from their names (known at plan time for the key policies)"
  }
  assert {
    condition     = [aws_iam_role.processor[0].name, aws_iam_role.deadletter[0].name] == ["ferry-test-processor", "ferry-test-deadletter"] && aws_iam_role.processor[0].path == null
    error_message = "the built ARNs name the roles the module creates (no path)"
  }
}

run "database_enabled_decides_which_settings_are_passed" {
  command = plan

  variables {
    database = { host = "db.internal", name = "ferry", enabled = false }
  }

  assert {
    condition     = length([for k in keys(aws_lambda_function.processor[0].environment[0].variables) : k if contains(["FERRY_DB_HOST", "FERRY_DB_PORT", "FERRY_DB_AUTH"], k)]) == 0
    error_message = "database.enabled = false passes no connection settings, whatever host says"
  }
}

run "raw_bucket_key_is_validated" {
  command = plan

  variables {
    raw_bucket_kms_key_arn = "alias/landing"
  }
  expect_failures = [var.raw_bucket_kms_key_arn]
}
