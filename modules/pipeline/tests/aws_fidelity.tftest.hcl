# What AWS itself would refuse or lose, checked offline: EventBridge delivery
# with a target dead-letter queue and a stripped event, the dead-letter
# consumer, and the migration function with IAM database authentication.

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

run "eventbridge_target_has_a_dead_letter_queue_and_strips_the_event" {
  command = plan

  variables {
    delivery = "eventbridge"
  }

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values          = { arn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq" }
  }

  assert {
    condition     = aws_cloudwatch_event_target.queue[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq"
    error_message = "events EventBridge cannot deliver go to the pipeline's dead-letter queue (and so to the dead-letter consumer)"
  }
  assert {
    condition = [
      for s in jsondecode(aws_sqs_queue.dlq.policy).Statement : s if s.Sid == "AllowObjectCreatedRuleDeadLetters"
      ] == [{
        Sid       = "AllowObjectCreatedRuleDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq"
        Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:111122223333:rule/ferry-test-object-created" } }
    }]
    error_message = "the dead-letter queue admits EventBridge for this rule only"
  }
  assert {
    condition = aws_cloudwatch_event_target.queue[0].input_transformer[0].input_paths == tomap({
      bucket = "$.detail.bucket.name"
      object = "$.detail.object"
      time   = "$.time"
    })
    error_message = "the transformer reads only the bucket, the object and the time"
  }
  assert {
    condition = (
      !strcontains(aws_cloudwatch_event_target.queue[0].input_transformer[0].input_template, "requester") &&
      !strcontains(aws_cloudwatch_event_target.queue[0].input_transformer[0].input_template, "source-ip-address") &&
      !strcontains(aws_cloudwatch_event_target.queue[0].input_transformer[0].input_template, "aws.events.event")
    )
    error_message = "requester identity and source IP never reach the queue"
  }
}

run "dead_letter_consumer" {
  command = plan

  override_resource {
    target          = aws_sqs_queue.dlq
    override_during = plan
    values          = { arn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq" }
  }
  override_resource {
    target          = aws_iam_role.deadletter
    override_during = plan
    values          = { arn = "arn:aws:iam::111122223333:role/ferry-test-deadletter" }
  }

  assert {
    condition = (
      aws_lambda_function.deadletter[0].function_name == "ferry-test-deadletter" &&
      aws_lambda_function.deadletter[0].handler == "ferry.deadletter.handler" &&
      aws_lambda_function.deadletter[0].filename == var.package_path &&
      aws_lambda_function.deadletter[0].architectures == tolist(["x86_64"]) &&
      aws_lambda_function.deadletter[0].role == "arn:aws:iam::111122223333:role/ferry-test-deadletter"
    )
    error_message = "the dead-letter consumer is the same zip with its own handler and its own role"
  }
  assert {
    condition = aws_lambda_function.deadletter[0].environment[0].variables == tomap({
      FERRY_LEDGER_TABLE      = "ferry-test-ledger"
      FERRY_LOG_LEVEL         = "INFO"
      FERRY_METRICS_NAMESPACE = "Ferry"
      FERRY_ROLE              = "deadletter"
      FERRY_EVENT_BUS         = "ferry-test-files"
      FERRY_EVENT_SOURCE      = "ferry.ferry-test"
    })
    error_message = "the consumer's environment is the contract's: ledger table, log level, metrics namespace, FERRY_ROLE=deadletter, the file events' bus and source"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.deadletter[0].event_source_arn == "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq" && aws_lambda_event_source_mapping.deadletter[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "an event source mapping on the dead-letter queue reports batch item failures"
  }
  assert {
    condition     = aws_sqs_queue.dlq.visibility_timeout_seconds >= aws_lambda_function.deadletter[0].timeout
    error_message = "Lambda requires the queue's visibility timeout to be at least the consumer's timeout"
  }
  assert {
    condition     = aws_cloudwatch_log_group.deadletter[0].name == "/aws/lambda/ferry-test-deadletter" && aws_cloudwatch_log_group.deadletter[0].kms_key_id == var.logs_kms_key_arn && aws_lambda_function.deadletter[0].logging_config[0].log_group == "/aws/lambda/ferry-test-deadletter"
    error_message = "its own KMS-encrypted log group"
  }
  assert {
    condition = { for s in data.aws_iam_policy_document.deadletter.statement : s.sid => { actions = s.actions, resources = s.resources } } == {
      ConsumeDeadLetterQueue = {
        actions   = toset(["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"])
        resources = toset(["arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest-dlq"])
      }
      RecordDeadLetters = {
        actions   = toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])
        resources = toset(["arn:aws:dynamodb:eu-west-1:111122223333:table/ferry-test-ledger"])
      }
      UseOperationalKey = {
        actions   = toset(["kms:Decrypt", "kms:GenerateDataKey"])
        resources = toset([var.operational_kms_key_arn])
      }
      WriteOwnLogs = {
        actions   = toset(["logs:CreateLogStream", "logs:PutLogEvents"])
        resources = toset(["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/ferry-test-deadletter:*"])
      }
      PublishFileEvents = {
        actions   = toset(["events:PutEvents"])
        resources = toset(["arn:aws:events:eu-west-1:111122223333:event-bus/ferry-test-files"])
      }
    }
    error_message = "the consumer's role: the DLQ, the ledger table, the operational key and its own logs, nothing else"
  }
}

run "no_migration_without_a_master_secret_or_csv_route" {
  command = plan

  variables {
    create_migration = true
    database = {
      host              = "ferry.abc.eu-west-1.rds.amazonaws.com"
      name              = "ferry"
      iam_auth_user     = "ferry_loader"
      resource_id       = "db-ABCDEFGHIJKL"
      master_secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-0a1b2c3d-AbCdEf"
    }
  }

  assert {
    condition     = length(aws_lambda_function.migrate) == 0 && length(aws_lambda_invocation.migrate) == 0 && length(aws_iam_role.migrate) == 0
    error_message = "no csv_postgres route: nothing to migrate"
  }
}

run "migration_runs_in_the_vpc_with_the_master_secret" {
  command = plan

  variables {
    processing_config = jsonencode({
      routes   = [{ name = "orders", prefix = "incoming/orders/", suffix = ".csv", processor = "csv_postgres", dataset = "orders" }]
      datasets = { orders = { table = "sales.orders", columns = [{ name = "id", type = "integer" }] } }
    })
    create_migration = true
    database = {
      host              = "ferry.abc.eu-west-1.rds.amazonaws.com"
      name              = "ferry"
      iam_auth_user     = "ferry_loader"
      resource_id       = "db-ABCDEFGHIJKL"
      master_secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-0a1b2c3d-AbCdEf"
    }
  }

  assert {
    condition = (
      aws_lambda_function.migrate[0].function_name == "ferry-test-migrate" &&
      aws_lambda_function.migrate[0].handler == "ferry.migrate_handler.handler" &&
      aws_lambda_function.migrate[0].vpc_config[0].subnet_ids == toset(var.subnet_ids) &&
      aws_lambda_function.migrate[0].vpc_config[0].security_group_ids == toset(var.security_group_ids)
    )
    error_message = "the migration is the same zip, in the processor's subnets and security groups"
  }
  assert {
    condition = (
      aws_lambda_function.migrate[0].environment[0].variables["FERRY_DB_MASTER_SECRET_ARN"] == var.database.master_secret_arn &&
      aws_lambda_function.migrate[0].environment[0].variables["FERRY_DB_USER"] == "ferry_loader" &&
      aws_lambda_function.migrate[0].environment[0].variables["FERRY_DB_HOST"] == "ferry.abc.eu-west-1.rds.amazonaws.com" &&
      aws_lambda_function.migrate[0].environment[0].variables["FERRY_DB_SSLROOTCERT"] == "/var/task/ferry/certs/rds-ca-bundle.pem"
    )
    error_message = "the migration logs in with the master secret and creates the loader user"
  }
  assert {
    condition = jsondecode(aws_lambda_invocation.migrate[0].input) == {
      action        = "migrate"
      config_sha256 = sha256(var.processing_config)
    }
    error_message = "the apply invokes the migration with the configuration's hash, so it re-runs when the datasets change"
  }
  assert {
    condition = { for s in data.aws_iam_policy_document.migrate[0].statement : s.sid => { actions = s.actions, resources = s.resources } } == {
      ReadMasterSecret    = { actions = toset(["secretsmanager:GetSecretValue"]), resources = toset([var.database.master_secret_arn]) }
      DecryptMasterSecret = { actions = toset(["kms:Decrypt"]), resources = toset([var.operational_kms_key_arn]) }
      WriteOwnLogs        = { actions = toset(["logs:CreateLogStream", "logs:PutLogEvents"]), resources = toset(["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/ferry-test-migrate:*"]) }
    }
    error_message = "the migration's role reads the master secret and writes its logs, nothing else"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.processor.statement : s if s.sid == "ReadDatabaseSecret"]) == 0 && !contains(keys(aws_lambda_function.processor[0].environment[0].variables), "FERRY_DB_SECRET_ARN")
    error_message = "the processor cannot read the master secret"
  }
}

run "rejects_a_master_secret_that_is_not_a_secret_arn" {
  command = plan

  variables {
    database = {
      host              = "ferry.abc.eu-west-1.rds.amazonaws.com"
      master_secret_arn = "rds!db-0a1b2c3d"
    }
  }

  expect_failures = [var.database]
}

run "migration_needs_the_master_secret" {
  command = plan

  variables {
    processing_config = jsonencode({
      routes = [{ name = "orders", prefix = "incoming/orders/", processor = "csv_postgres", dataset = "orders" }]
    })
    create_migration = true
    database         = { host = "ferry.abc.eu-west-1.rds.amazonaws.com" }
  }

  expect_failures = [aws_lambda_function.migrate]
}

run "rejects_a_dead_letter_timeout_out_of_range" {
  command = plan

  variables {
    deadletter_timeout = 900
  }

  expect_failures = [var.deadletter_timeout]
}
