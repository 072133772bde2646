# The state machine: Claim (ledger) -> RunTask .sync (Fargate) -> Finish (ledger),
# Retry on transient task failures, Catch -> RecordFailure (ledger) -> Fail.
# The definition is state_machine.asl.json.tftpl; the local stack runs the same
# file (ferry_dev.stepfunctions).

locals {
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${var.account_id}:stateMachine:${local.names.state_machine}"

  definition = templatefile("${path.module}/state_machine.asl.json.tftpl", {
    partition              = local.partition
    ledger_table           = var.table_names.ledger
    cluster_arn            = local.cluster_arn
    task_definition_arn    = local.family_arn # the family's latest ACTIVE revision
    container_name         = local.names.container
    subnet_ids             = jsonencode(var.subnet_ids)
    security_group_ids     = jsonencode(var.security_group_ids)
    task_timeout_seconds   = var.task_timeout_seconds
    task_max_attempts      = var.task_max_attempts
    retry_interval_seconds = var.retry_interval_seconds
  })

  # The longest an execution can hold an object's claim: every attempt's timeout
  # and the longest backoffs (the function's hand-off lease).
  execution_seconds = (var.task_max_attempts + 1) * var.task_timeout_seconds + sum(concat([0], [for n in range(var.task_max_attempts) : var.retry_interval_seconds * pow(2, n)])) + 300
}

resource "aws_cloudwatch_log_group" "states" {
  name              = local.names.states_log_grp
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

# "Call Amazon ECS or AWS Fargate with Step Functions" (the role trusts
# states.amazonaws.com for this state machine only: aws:SourceArn),
# https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html
data "aws_iam_policy_document" "states_assume" {
  statement {
    sid     = "StatesAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

data "aws_iam_policy_document" "states" {
  # "IAM policies for calling Amazon ECS/AWS Fargate": RunTask on the task
  # definition, StopTask / DescribeTasks on the tasks it runs, the managed rule
  # StepFunctionsGetEventsForECSTaskRule that .sync waits on, and iam:PassRole
  # for the task and execution roles,
  # https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html
  statement {
    sid       = "RunTask"
    actions   = ["ecs:RunTask"]
    resources = ["${local.family_arn}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "WatchAndStopTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["${local.names.cluster_pattern}:task/${local.cluster_name}/*"]
  }

  statement {
    sid       = "SyncTaskEvents"
    actions   = ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    resources = ["arn:${local.partition}:events:${local.region}:${var.account_id}:rule/StepFunctionsGetEventsForECSTaskRule"]
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.task.arn, aws_iam_role.execution.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # "IAM policies for calling DynamoDB", https://docs.aws.amazon.com/step-functions/latest/dg/dynamo-iam.html
  statement {
    sid       = "UpdateLedger"
    actions   = ["dynamodb:UpdateItem"]
    resources = [local.table_arns.ledger]
  }

  statement {
    sid       = "UseLedgerDataKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.operational_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  # "Logging Step Functions using CloudWatch Logs": log delivery actions have
  # no resource types, https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  # "Trace Step Functions request data in AWS X-Ray",
  # https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "states" {
  name                 = local.names.sfn_role
  description          = "Role of the ${local.names.state_machine} state machine"
  assume_role_policy   = data.aws_iam_policy_document.states_assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "states" {
  # checkov:skip=CKV_AWS_290:CloudWatch Logs delivery and X-Ray actions have no resource types: AWS documents them on "*" (cw-logs.html, concepts-xray-tracing.html); ECS, events, IAM and DynamoDB statements name their resources.
  # checkov:skip=CKV_AWS_355:CloudWatch Logs delivery and X-Ray actions have no resource types: AWS documents them on "*" (cw-logs.html, concepts-xray-tracing.html); ECS, events, IAM and DynamoDB statements name their resources.
  name   = "${local.names.sfn_role}-least-privilege"
  role   = aws_iam_role.states.id
  policy = data.aws_iam_policy_document.states.json
}

resource "aws_sfn_state_machine" "this" {
  name       = local.names.state_machine
  type       = "STANDARD"
  role_arn   = aws_iam_role.states.arn
  definition = local.definition
  tags       = var.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.states.arn}:*"
    include_execution_data = var.log_execution_data
    level                  = var.execution_log_level
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.operational_kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.states]
}
