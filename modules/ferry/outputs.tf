# What a caller (an environment, ferry's tools, a team's own root) needs.
# Parts that are switched off give null.

output "kms_key_arns" {
  description = "Customer-managed keys by tier (storage, operational, logs): created or given."
  value       = local.kms_key_arns
}

output "vpc_id" {
  description = "VPC of the processor and the database: created or given."
  value       = local.network.vpc_id
}

output "bucket_names" {
  description = "Data buckets by role (raw, processed, failed): producers upload into raw."
  value       = module.storage.bucket_names
}

output "bucket_arns" {
  description = "Data buckets' ARNs by role."
  value       = module.storage.bucket_arns
}

output "access_log_bucket_name" {
  description = "Bucket that receives the data buckets' (and the trail bucket's) server access logs."
  value       = module.storage.access_log_bucket_name
}

output "queue_url" {
  description = "Ingest queue."
  value       = module.pipeline.queue_url
}

output "queue_arn" {
  description = "ARN of the ingest queue."
  value       = module.pipeline.queue_arn
}

output "dlq_url" {
  description = "Dead-letter queue of the ingest queue."
  value       = module.pipeline.dlq_url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.pipeline.dlq_arn
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the ingest queue (6 x the function timeout)."
  value       = module.pipeline.visibility_timeout_seconds
}

output "function_timeout_seconds" {
  description = "Timeout of the processor function in seconds."
  value       = var.processor.timeout
}

output "function_name" {
  description = "Processor function (null on the emulator, which runs the handler in a local poller)."
  value       = module.pipeline.function_name
}

output "function_environment" {
  description = "Environment of the processor function (the emulator's poller sets the same)."
  value       = module.pipeline.function_environment
}

output "role_arn" {
  description = "Execution role of the processor function."
  value       = module.pipeline.role_arn
}

output "table_names" {
  description = "DynamoDB tables by role (ledger, records, metadata)."
  value       = module.pipeline.table_names
}

output "alarm_topic_arn" {
  description = "SNS topic of the pipeline alarms: created or given."
  value       = module.pipeline.alarm_topic_arn
}

output "database_address" {
  description = "PostgreSQL host the processor connects to (sslmode=verify-full)."
  value       = local.database.host
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the database credentials: the RDS-managed master secret (read only by the migration function; the processor uses IAM database authentication), the given one, or the emulator's."
  value       = local.database.secret_arn != "" ? local.database.secret_arn : local.database.master_secret_arn
}

output "trail_arn" {
  description = "ferry's CloudTrail trail (null when create_audit or create_trail is false)."
  value       = var.create_audit && var.create_trail ? module.audit[0].trail_arn : null
}

output "findings_topic_arn" {
  description = "SNS topic with every Macie finding (null when create_audit is false)."
  value       = var.create_audit ? module.audit[0].findings_topic_arn : null
}

output "deadletter_function_name" {
  description = "The dead-letter consumer (null on the emulator)."
  value       = module.pipeline.deadletter_function_name
}

output "deadletter_environment" {
  description = "Environment of the dead-letter consumer in AWS; the local stack's dead-letter worker sets the same."
  value       = module.pipeline.deadletter_environment
}

output "migrate_function_name" {
  description = "The migration function the apply invokes (null without RDS or a csv_postgres route)."
  value       = module.pipeline.migrate_function_name
}

output "deployer_placement_policy_json" {
  description = "IAM policy to attach to the deploying principal: no ferry function outside its subnets and security groups (Lambda enforces placement with lambda:SubnetIds / lambda:SecurityGroupIds on the deployer)."
  value       = module.pipeline.deployer_placement_policy_json
}

output "deadletter_role_arn" {
  description = "Execution role of the dead-letter consumer."
  value       = module.pipeline.deadletter_role_arn
}

output "event_bus_name" {
  description = "Bus the file events go to (null when events_enabled is false)."
  value       = module.pipeline.event_bus_name
}

output "event_source" {
  description = "The file events' source: match it, with detail-type FileLoaded / FileRejected / FileDeadLettered, in your own rules."
  value       = module.pipeline.event_source
}

output "file_notification_topic_arns" {
  description = "SNS topic of each file notification kind (success, failure)."
  value       = module.pipeline.file_notification_topic_arns
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null when dashboard_enabled is false)."
  value       = module.pipeline.dashboard_name
}

output "malware_protection_plan_arn" {
  description = "ARN of the GuardDuty Malware Protection plan on the raw bucket (null unless malware_protection.enabled)."
  value       = module.pipeline.malware_protection_plan_arn
}

output "container_lane" {
  description = "The large-file lane: state machine, cluster, task definition and roles (null unless create_container_lane; an existing state machine appears in the function's FERRY_STATE_MACHINE_ARN only)."
  value = var.create_container_lane ? {
    state_machine_arn   = module.container[0].state_machine_arn
    cluster_arn         = module.container[0].cluster_arn
    task_definition_arn = module.container[0].task_definition_arn
    task_role_arn       = module.container[0].task_role_arn
    execution_role_arn  = module.container[0].execution_role_arn
    log_group_names     = module.container[0].log_group_names
  } : null
}
