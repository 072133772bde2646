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

run "task_is_hardened" {
  command = plan

  assert {
    condition = alltrue([
      for c in jsondecode(aws_ecs_task_definition.this.container_definitions) :
      c.readonlyRootFilesystem && !c.privileged && c.user == "10001:10001" && c.image == var.image
    ])
    error_message = "the container must have a read-only root filesystem, run unprivileged as a non-root user, with the pinned image"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].mountPoints == [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    error_message = "the only writable path must be the /tmp volume"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].linuxParameters.capabilities.drop == ["ALL"]
    error_message = "every Linux capability must be dropped"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].command == ["python", "-m", "ferry.task"]
    error_message = "the task must run the ferry.task entry point"
  }
  assert {
    condition     = aws_ecs_task_definition.this.requires_compatibilities == toset(["FARGATE"]) && aws_ecs_task_definition.this.network_mode == "awsvpc"
    error_message = "the task must be a Fargate task in awsvpc mode"
  }
  assert {
    condition     = aws_ecs_task_definition.this.cpu == "1024" && aws_ecs_task_definition.this.memory == "2048"
    error_message = "default size must be 1 vCPU and 2 GiB"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets == [{ name = "FERRY_DB_SECRET", valueFrom = var.secrets.FERRY_DB_SECRET }]
    error_message = "secrets must be injected by ECS from Secrets Manager"
  }
  assert {
    condition     = !contains([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name], "FERRY_DB_SECRET")
    error_message = "a secret must never be a plain environment variable"
  }
}

run "logs_are_encrypted_and_kept" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.task.kms_key_id == var.logs_kms_key_arn && aws_cloudwatch_log_group.states.kms_key_id == var.logs_kms_key_arn
    error_message = "both log groups must be encrypted with the logs key"
  }
  assert {
    condition     = aws_cloudwatch_log_group.task.retention_in_days == 365 && aws_cloudwatch_log_group.states.retention_in_days == 365
    error_message = "both log groups must keep logs 365 days by default"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/ferry-test-large-files"
    error_message = "the container must log to the module's log group"
  }
}

run "state_machine_runs_the_task_privately_and_records_failures" {
  command = plan

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "X-Ray tracing must be on"
  }
  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" && aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "executions must be logged (ALL) with their execution history by default"
  }
  assert {
    condition     = aws_sfn_state_machine.this.encryption_configuration[0].kms_key_id == var.operational_kms_key_arn
    error_message = "execution data must be encrypted with the operational key"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Resource == "arn:aws:states:::ecs:runTask.sync"
    error_message = "RunTask must wait for the task (.sync)"
  }
  assert {
    condition     = jsonencode(jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Parameters.NetworkConfiguration.AwsvpcConfiguration) == jsonencode({ Subnets = var.subnet_ids, SecurityGroups = var.security_group_ids, AssignPublicIp = "DISABLED" })
    error_message = "tasks must run in the private subnets without a public IP"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Retry[0].MaxAttempts == 3 && contains(jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Retry[0].ErrorEquals, "States.TaskFailed")
    error_message = "a failed task must be retried 3 times"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.RunTask.Catch[0].Next == "RecordFailure" && jsondecode(aws_sfn_state_machine.this.definition).States.RecordFailure.Next == "Failed"
    error_message = "a task that keeps failing must be recorded in the ledger, then fail the execution"
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Claim.Parameters.TableName == "ferry-test-ledger" && jsondecode(aws_sfn_state_machine.this.definition).StartAt == "Claim"
    error_message = "the execution must start by claiming the object in the ledger"
  }
  assert {
    condition     = output.execution_seconds == 4 * 3600 + 30 + 60 + 120 + 300
    error_message = "the hand-off lease must cover every attempt and backoff"
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.start) == 0 && length(aws_sqs_queue.start_retry) == 0
    error_message = "the EventBridge start is off by default"
  }
  assert {
    condition     = length(aws_ecs_cluster.this) == 1 && aws_ecs_cluster.this[0].name == "ferry-test-large-files"
    error_message = "the module creates its cluster by default"
  }
}

run "roles_are_least_privilege" {
  command = plan

  assert {
    condition = [
      for s in data.aws_iam_policy_document.states.statement : s.resources if s.sid == "SyncTaskEvents"
    ] == [toset(["arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForECSTaskRule"])]
    error_message = "RunTask .sync needs the managed rule StepFunctionsGetEventsForECSTaskRule, and only it"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.states.statement : s.actions if s.sid == "SyncTaskEvents"
    ] == [toset(["events:DescribeRule", "events:PutRule", "events:PutTargets"])]
    error_message = "RunTask .sync needs events:PutTargets, PutRule and DescribeRule"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.states.statement : s.resources if s.sid == "RunTask"
    ] == [toset(["arn:aws:ecs:eu-west-1:111122223333:task-definition/ferry-test-large-files:*"])]
    error_message = "the state machine may run this task definition only"
  }
  assert {
    condition = flatten([
      for s in data.aws_iam_policy_document.states.statement : [for c in s.condition : tolist(c.values) if c.variable == "iam:PassedToService"] if s.sid == "PassTaskRoles" && contains(tolist(s.actions), "iam:PassRole")
    ]) == ["ecs-tasks.amazonaws.com"]
    error_message = "the state machine must pass the task roles to ECS tasks only"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.states.statement : s.resources if s.sid == "UpdateLedger"
    ] == [toset(["arn:aws:dynamodb:eu-west-1:111122223333:table/ferry-test-ledger"])]
    error_message = "the state machine may update the ledger only"
  }
  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.task.statement : anytrue([for a in s.actions : startswith(a, "secretsmanager:")])])
    error_message = "the task role must not read secrets: ECS injects them"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "InjectSecrets"
    ] == [toset(["arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry-test/database-AbCdEf"])]
    error_message = "the execution role reads exactly the injected secrets"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "PullImage"
    ] == [toset(["arn:aws:ecr:eu-west-1:111122223333:repository/ferry"])]
    error_message = "the execution role pulls from the image's repository only"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.task.statement : s if s.sid == "ConnectAsDatabaseUser" || s.sid == "DeleteProcessedRawObjects"]) == 0
    error_message = "no database login or raw deletion unless asked for"
  }
}
