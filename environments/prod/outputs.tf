output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "kms_key_arns" {
  description = "Customer-managed keys by tier (storage, operational, logs)."
  value       = module.kms.key_arns
}

output "vpc_id" {
  description = "VPC of the environment."
  value       = module.network.vpc_id
}

output "bucket_names" {
  description = "Data buckets by role: upload into raw."
  value       = module.storage.bucket_names
}

output "queue_arn" {
  description = "Ingest queue."
  value       = module.pipeline.queue_arn
}

output "dlq_arn" {
  description = "Dead-letter queue of the ingest queue."
  value       = module.pipeline.dlq_arn
}

output "function_name" {
  description = "Processor function."
  value       = module.pipeline.function_name
}

output "table_names" {
  description = "DynamoDB tables (ledger, records, metadata)."
  value       = module.pipeline.table_names
}

output "alarm_topic_arn" {
  description = "SNS topic of the pipeline alarms."
  value       = module.pipeline.alarm_topic_arn
}

output "database_address" {
  description = "PostgreSQL host name (connect with sslmode=verify-full)."
  value       = module.database.address
}

output "database_secret_arn" {
  description = "Secrets Manager secret of the database master user."
  value       = module.database.master_user_secret_arn
}

output "trail_arn" {
  description = "CloudTrail trail."
  value       = module.audit.trail_arn
}

output "findings_topic_arn" {
  description = "SNS topic with every Macie finding."
  value       = module.audit.findings_topic_arn
}
