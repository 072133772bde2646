output "state_machine_arn" {
  description = "ARN of the large-file state machine (the function's FERRY_STATE_MACHINE_ARN). Built from its name, so it is known at plan time and the function's environment can feed the task's without a cycle."
  value       = local.state_machine_arn
}

output "state_machine_definition" {
  description = "The rendered Amazon States Language definition."
  value       = local.definition
}

output "execution_seconds" {
  description = "The longest one execution can hold an object's ledger claim (every attempt's timeout and backoff, plus 5 minutes): the function's FERRY_CONTAINER_LEASE_SECONDS."
  value       = local.execution_seconds
}

output "cluster_arn" {
  description = "ECS cluster the tasks run in (created or existing)."
  value       = local.cluster_arn
}

output "task_definition_arn" {
  description = "ARN of the Fargate task definition (with its revision)."
  value       = aws_ecs_task_definition.this.arn
}

output "task_role_arn" {
  description = "Role of the task's processors (a key user of the storage and operational keys)."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "Role ECS uses to pull the image, write the log and inject the secrets."
  value       = aws_iam_role.execution.arn
}

output "state_machine_role_arn" {
  description = "Role of the state machine (a key user of the operational key: the ledger)."
  value       = aws_iam_role.states.arn
}

output "key_user_role_arns" {
  description = "Roles that need data keys, by key (storage, operational): for the kms module's key_users."
  value = {
    storage     = [aws_iam_role.task.arn]
    operational = [aws_iam_role.task.arn, aws_iam_role.states.arn, aws_iam_role.execution.arn]
  }
}

output "log_group_names" {
  description = "The task's and the state machine's log groups."
  value       = { task = aws_cloudwatch_log_group.task.name, state_machine = aws_cloudwatch_log_group.states.name }
}

output "start_retry_queue_arn" {
  description = "The EventBridge start's retry queue (null without eventbridge_start)."
  value       = try(aws_sqs_queue.start_retry[0].arn, null)
}

output "start_rule_arn" {
  description = "The EventBridge rule that starts executions (null without eventbridge_start)."
  value       = try(aws_cloudwatch_event_rule.start[0].arn, null)
}

output "task_definition_container_definitions" {
  description = "The task definition's container definitions (JSON): image, user, environment names and secret references."
  value       = aws_ecs_task_definition.this.container_definitions
}
