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
  subnet_ids              = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  security_group_ids      = ["sg-0a1b2c3d4e5f60003"]
  bucket_names            = { raw = "ferry-test-raw", processed = "ferry-test-processed", failed = "ferry-test-failed" }
  table_names             = { ledger = "ferry-test-ledger", records = "ferry-test-records", metadata = "ferry-test-metadata" }
  image                   = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  environment_variables   = { FERRY_LEDGER_TABLE = "ferry-test-ledger" }
  secrets                 = { FERRY_DB_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry-test/database-AbCdEf" }
}

override_resource {
  target          = aws_ecs_task_definition.this
  override_during = plan
  values = {
    arn                  = "arn:aws:ecs:eu-west-1:111122223333:task-definition/ferry-test-large-files:1"
    arn_without_revision = "arn:aws:ecs:eu-west-1:111122223333:task-definition/ferry-test-large-files"
  }
}

override_resource {
  target          = aws_ecs_cluster.this
  override_during = plan
  values          = { arn = "arn:aws:ecs:eu-west-1:111122223333:cluster/ferry-test-large-files" }
}

run "eventbridge_start_with_a_retry_queue" {
  command = plan

  variables {
    eventbridge_start = { enabled = true, prefixes = ["incoming/large/"], min_size_bytes = 1000000 }
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.start[0].event_pattern).detail.object.size == [{ numeric = [">", 1000000] }]
    error_message = "only objects above min_size_bytes must start an execution"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.start[0].event_pattern).detail.object.key == [{ prefix = "incoming/large/" }] && jsondecode(aws_cloudwatch_event_rule.start[0].event_pattern).detail.bucket.name == ["ferry-test-raw"]
    error_message = "the rule must match the raw bucket's prefixes"
  }
  assert {
    condition     = aws_cloudwatch_event_target.start[0].retry_policy[0].maximum_retry_attempts == 185 && aws_cloudwatch_event_target.start[0].retry_policy[0].maximum_event_age_in_seconds == 86400
    error_message = "failed starts must be retried for a day"
  }
  assert {
    condition     = aws_sqs_queue.start_retry[0].kms_master_key_id == var.operational_kms_key_arn && aws_sqs_queue.start_retry[0].message_retention_seconds == 1209600
    error_message = "the retry queue must be encrypted and keep messages 14 days"
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.start[0].dead_letter_config) == 1
    error_message = "the target must have the retry queue as its dead-letter queue"
  }
  assert {
    condition     = can(jsondecode(replace(replace(replace(replace(aws_cloudwatch_event_target.start[0].input_transformer[0].input_template, "s3://<bucket>/<key>#<version>", "s3://b/k#v"), "<bucket>", "\"b\""), "<key>", "\"k\""), "<version>", "\"v\"")))
    error_message = "the input template must render to JSON"
  }
}

run "existing_cluster" {
  command = plan

  variables {
    create_cluster       = false
    existing_cluster_arn = "arn:aws:ecs:eu-west-1:111122223333:cluster/shared"
  }

  assert {
    condition     = length(aws_ecs_cluster.this) == 0 && output.cluster_arn == var.existing_cluster_arn
    error_message = "an existing cluster must be used instead of creating one"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Parameters.Cluster == var.existing_cluster_arn
    error_message = "the state machine must run the task in the existing cluster"
  }
}

run "sizes_architecture_and_timeouts" {
  command = plan

  variables {
    cpu                    = 4096
    memory                 = 30720
    cpu_architecture       = "ARM64"
    ephemeral_storage_gib  = 50
    user                   = "1000"
    task_timeout_seconds   = 600
    task_max_attempts      = 0
    retry_interval_seconds = 5
    execution_log_level    = "ERROR"
    log_execution_data     = false
    log_retention_days     = 30
  }

  assert {
    condition     = aws_ecs_task_definition.this.cpu == "4096" && aws_ecs_task_definition.this.memory == "30720"
    error_message = "cpu and memory must reach the task definition"
  }
  assert {
    condition     = aws_ecs_task_definition.this.runtime_platform[0].cpu_architecture == "ARM64" && aws_ecs_task_definition.this.ephemeral_storage[0].size_in_gib == 50
    error_message = "architecture and ephemeral storage must reach the task definition"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].user == "1000"
    error_message = "the user must reach the container"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.TimeoutSeconds == 600 && jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Retry[0].MaxAttempts == 0 && jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Retry[0].IntervalSeconds == 5
    error_message = "timeout and retries must reach the state machine"
  }
  assert {
    condition     = contains([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.value if e.name == "FERRY_TASK_TIMEOUT_SECONDS"], "600")
    error_message = "the task must know its time budget"
  }
  assert {
    condition     = output.execution_seconds == 600 + 300
    error_message = "without retries the lease is one attempt plus the margin"
  }
  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" && !aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "log level and execution data must reach the state machine"
  }
  assert {
    condition     = aws_cloudwatch_log_group.task.retention_in_days == 30
    error_message = "log retention must reach the log groups"
  }
}

run "iam_database_auth_and_raw_deletion" {
  command = plan

  variables {
    database           = { iam_auth_user = "ferry_loader", resource_id = "db-ABCDEFGHIJKLMNOP" }
    delete_raw_objects = true
    secrets            = {}
    image              = "public.ecr.aws/example/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets == []
    error_message = "no secrets are injected unless given"
  }
  assert {
    condition     = length(output.key_user_role_arns.storage) == 1 && length(output.key_user_role_arns.operational) == 3
    error_message = "only the task role needs the storage key"
  }
}

run "secret_references_may_be_plain_variables" {
  command = plan

  variables {
    environment_variables = { API_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-x", DB_PASSWORD_NAME = "/ferry/db" }
  }

  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment) == 4
    error_message = "references to secrets (ARNs, parameter names) are plain variables"
  }
}

run "permissions_boundary_and_tags" {
  command = plan

  variables {
    role_permissions_boundary_arn = "arn:aws:iam::111122223333:policy/boundary"
    tags                          = { Team = "data" }
  }

  assert {
    condition     = aws_iam_role.task.permissions_boundary == var.role_permissions_boundary_arn && aws_iam_role.execution.permissions_boundary == var.role_permissions_boundary_arn && aws_iam_role.states.permissions_boundary == var.role_permissions_boundary_arn
    error_message = "every role must carry the permissions boundary"
  }
  assert {
    condition     = aws_sfn_state_machine.this.tags["Team"] == "data" && aws_ecs_task_definition.this.tags["Team"] == "data" && aws_iam_role.task.tags["Team"] == "data"
    error_message = "tags must reach the resources"
  }
}

run "task_role_options_reach_the_policy" {
  command = plan

  variables {
    database           = { iam_auth_user = "ferry_loader", resource_id = "db-ABCDEFGHIJKLMNOP" }
    delete_raw_objects = true
    image              = "public.ecr.aws/example/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.task.statement : s.resources if s.sid == "ConnectAsDatabaseUser"
    ] == [toset(["arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABCDEFGHIJKLMNOP/ferry_loader"])]
    error_message = "IAM database auth connects as the loader only"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.task.statement : s if s.sid == "DeleteProcessedRawObjects"]) == 1
    error_message = "raw deletion must be granted when asked for"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.execution.statement : s if s.sid == "PullImage" || s.sid == "EcrAuthorization"]) == 0
    error_message = "an image outside a private ECR needs no ECR permission"
  }
}
