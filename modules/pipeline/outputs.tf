output "queue_url" {
  description = "URL of the ingest queue."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the ingest queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the ingest queue."
  value       = aws_sqs_queue.this.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the ingest queue (6 x the function timeout); a local poller should use the same."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "function_name" {
  description = "Name of the processor function (null when create_function is false)."
  value       = try(aws_lambda_function.processor[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the processor function (null when create_function is false)."
  value       = try(aws_lambda_function.processor[0].arn, null)
}

output "function_environment" {
  description = "Environment variables the function gets (FERRY_* and the caller's extras); a local runner sets the same."
  value       = local.function_environment
}

output "role_arn" {
  description = "ARN of the function's execution role (created even when create_function is false: a local poller runs as it)."
  value       = try(aws_iam_role.processor[0].arn, null)
}

output "role_name" {
  description = "Name of the function's execution role (created even when create_function is false: a local poller runs as it)."
  value       = try(aws_iam_role.processor[0].name, null)
}

output "role_policy_json" {
  description = "The execution role's least-privilege policy document."
  value       = data.aws_iam_policy_document.processor.json
}

output "log_group_name" {
  description = "Name of the function's log group (null when create_function is false)."
  value       = try(aws_cloudwatch_log_group.processor[0].name, null)
}

output "table_names" {
  description = "DynamoDB table names by role: ledger, records, metadata."
  value = {
    ledger   = aws_dynamodb_table.ledger.name
    records  = aws_dynamodb_table.records.name
    metadata = aws_dynamodb_table.metadata.name
  }
}

output "table_arns" {
  description = "DynamoDB table ARNs by role: ledger, records, metadata."
  value = {
    ledger   = aws_dynamodb_table.ledger.arn
    records  = aws_dynamodb_table.records.arn
    metadata = aws_dynamodb_table.metadata.arn
  }
}

output "ledger_status_index_name" {
  description = "Name of the ledger's status-and-time index that `ferry ls` and `ferry summary` query (null when ledger_status_index is false)."
  value       = var.ledger_status_index ? local.ledger_status_index : null
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify: the one the module created, or existing_sns_topic_arn (null when create_alarms is false)."
  value       = var.create_alarms ? local.alarm_topic_arn : null
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.queue : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.ferry : a.alarm_name],
  )
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS -> Lambda event source mapping (null when not created)."
  value       = try(aws_lambda_event_source_mapping.queue[0].uuid, null)
}

output "eventbridge_rule_arn" {
  description = "ARN of the EventBridge rule (null unless delivery is eventbridge)."
  value       = try(aws_cloudwatch_event_rule.object_created[0].arn, null)
}

output "routed_prefixes" {
  description = "Key prefixes derived from processing_config's routes (distinct, minimised, sorted; [\"\"] means every key): the S3 notification filters / EventBridge key pattern. With create_bucket_notification = false and delivery s3_notification, the bucket's owner notifies queue_arn for these prefixes."
  value       = local.routed_prefixes
}

output "processing_config_sha256" {
  description = "Hex SHA-256 of processing_config, passed to the function as FERRY_CONFIG_SHA256; `make build CONFIG=...` prints the same for the configuration it packs."
  value       = local.processing_config_sha256
}

output "deadletter_function_name" {
  description = "Name of the dead-letter consumer (ferry.deadletter on the dead-letter queue; null when create_function is false)."
  value       = try(aws_lambda_function.deadletter[0].function_name, null)
}

output "deadletter_environment" {
  description = "Environment variables of the dead-letter consumer; a local runner sets the same."
  value       = local.deadletter_environment
}

output "deadletter_role_arn" {
  description = "ARN of the dead-letter consumer's execution role (created even when create_function is false: a local poller runs as it)."
  value       = try(aws_iam_role.deadletter[0].arn, null)
}

output "deadletter_role_policy_json" {
  description = "The dead-letter consumer's least-privilege policy document."
  value       = data.aws_iam_policy_document.deadletter.json
}

output "migrate_function_name" {
  description = "Name of the migration function the apply invokes (null unless a master secret, a csv_postgres route and create_function)."
  value       = try(aws_lambda_function.migrate[0].function_name, null)
}

output "migrate_role_arn" {
  description = "ARN of the migration function's execution role (null when it is not created)."
  value       = try(aws_iam_role.migrate[0].arn, null)
}

output "key_user_role_arns" {
  description = "Execution roles that read and write data under the storage and operational keys (processor, dead-letter consumer, migration; the malware gate's GuardDuty role reads the raw bucket's objects), by key tier: pass them to the kms module's key_users. Built from the roles' names, so known at plan time and a key policy naming them can be reviewed in the plan; KMS refuses a key policy naming a role that does not exist yet, so pass created_role_arns to the kms module's principal_dependencies for the order."
  value = {
    storage     = compact([local.role_arns.processor, local.malware_gate ? "arn:${local.partition}:iam::${var.account_id}:role/${local.names_malware.role}" : ""])
    operational = compact([local.role_arns.processor, local.role_arns.deadletter, local.create_migrate ? local.role_arns.migrate : ""])
  }
}

output "created_role_arns" {
  description = "ARNs of the execution roles as created (known after apply). Pass them to the kms module's principal_dependencies: the keys whose policies name key_user_role_arns are then written after the roles exist."
  value       = concat(aws_iam_role.processor[*].arn, aws_iam_role.deadletter[*].arn, aws_iam_role.migrate[*].arn, aws_iam_role.malware[*].arn)
}

output "deployer_placement_policy_json" {
  description = "IAM policy for the principal that deploys (attach it to the deployer's role): denies creating or updating this module's functions outside their subnets and security groups, or outside a VPC. Lambda enforces placement with these condition keys, not on the execution role (\"Using IAM condition keys for VPC settings\", https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#vpc-conditions)."
  value = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "OnlyInAVpc"
        Effect    = "Deny"
        Action    = ["lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"]
        Resource  = local.function_arns
        Condition = { Null = { "lambda:VpcIds" = "true" } }
      },
      {
        Sid       = "OnlyInTheirSubnets"
        Effect    = "Deny"
        Action    = ["lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"]
        Resource  = local.function_arns
        Condition = { "ForAnyValue:StringNotEquals" = { "lambda:SubnetIds" = var.subnet_ids } }
      },
      {
        Sid       = "OnlyWithTheirSecurityGroups"
        Effect    = "Deny"
        Action    = ["lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"]
        Resource  = local.function_arns
        Condition = { "ForAnyValue:StringNotEquals" = { "lambda:SecurityGroupIds" = var.security_group_ids } }
      },
    ]
  })
}

output "event_bus_name" {
  description = "Bus the file events go to (null when events_enabled is false)."
  value       = local.events_enabled ? local.event_bus_name : null
}

output "event_bus_arn" {
  description = "ARN of the bus the file events go to (null when events_enabled is false)."
  value       = local.events_enabled ? local.event_bus_arn : null
}

output "event_source" {
  description = "The file events' source (ferry.<name_prefix>): match it in your own rules, with detail-type FileLoaded, FileRejected or FileDeadLettered."
  value       = local.events_enabled ? local.event_source : null
}

output "file_notification_topic_arns" {
  description = "SNS topic of each file notification kind (success, failure): created, or the existing one given."
  value       = local.file_notification_topic_arns
}

output "file_notification_rule_arns" {
  description = "EventBridge rule of each file notification kind: an existing topic's policy must let events.amazonaws.com publish with this aws:SourceArn."
  value       = { for kind, r in aws_cloudwatch_event_rule.file_notifications : kind => r.arn }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null when dashboard_enabled is false)."
  value       = try(aws_cloudwatch_dashboard.pipeline[0].dashboard_name, null)
}

output "malware_protection_plan_arn" {
  description = "ARN of the GuardDuty Malware Protection plan on the raw bucket (null unless malware_protection.enabled)."
  value       = try(aws_guardduty_malware_protection_plan.raw[0].arn, null)
}

output "malware_protection_role_arn" {
  description = "Role GuardDuty assumes to scan and tag the raw bucket's objects (null unless malware_protection.enabled)."
  value       = try(aws_iam_role.malware[0].arn, null)
}
