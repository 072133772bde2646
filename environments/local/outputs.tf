# What ferry_dev.local reads after an apply: the local poller's settings and
# the processors' environment.

output "region" {
  description = "Region of the emulator."
  value       = var.region
}

output "bucket_names" {
  description = "Data buckets by role (raw, processed, failed)."
  value       = module.ferry.bucket_names
}

output "queue_url" {
  description = "Ingest queue the local poller reads."
  value       = module.ferry.queue_url
}

output "queue_arn" {
  description = "ARN of the ingest queue (the eventSourceARN of every record)."
  value       = module.ferry.queue_arn
}

output "dlq_url" {
  description = "Dead-letter queue."
  value       = module.ferry.dlq_url
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the ingest queue."
  value       = module.ferry.visibility_timeout_seconds
}

output "function_timeout_seconds" {
  description = "Function timeout the poller enforces (the pipeline derives the visibility timeout as 6 x this)."
  value       = module.ferry.function_timeout_seconds
}

output "function_environment" {
  description = "Environment the processor function would get in AWS; the local poller sets the same."
  value       = module.ferry.function_environment
}

output "table_names" {
  description = "DynamoDB tables by role (ledger, records, metadata)."
  value       = module.ferry.table_names
}

output "database_secret_arn" {
  description = "Secret that holds the local PostgreSQL credentials (RDS-managed shape)."
  value       = module.ferry.database_secret_arn
}

output "kms_key_arns" {
  description = "Customer-managed keys by tier."
  value       = module.ferry.kms_key_arns
}

output "deadletter_environment" {
  description = "Environment the dead-letter consumer would get in AWS; the local dead-letter worker sets the same."
  value       = module.ferry.deadletter_environment
}

output "role_arn" {
  description = "Processor role: the local workers assume it, so the emulator's IAM enforcement sees the function's own permissions."
  value       = module.ferry.role_arn
}

output "deadletter_role_arn" {
  description = "Dead-letter consumer's role, assumed by the local dead-letter worker."
  value       = module.ferry.deadletter_role_arn
}

output "event_bus_name" {
  description = "Bus the processor and the dead-letter consumer publish the file events to."
  value       = module.ferry.event_bus_name
}

output "event_source" {
  description = "Source of the file events (the functions' roles may publish only this one)."
  value       = module.ferry.event_source
}
