output "bucket_names" {
  description = "Name of each data bucket, by role (raw, processed, failed)."
  value       = { for role, b in module.data_bucket : role => b.name }
}

output "bucket_arns" {
  description = "ARN of each data bucket, by role (raw, processed, failed)."
  value       = { for role, b in module.data_bucket : role => b.arn }
}

output "bucket_ids" {
  description = "Id of each data bucket, by role (raw, processed, failed)."
  value       = { for role, b in module.data_bucket : role => b.id }
}

output "bucket_regional_domain_names" {
  description = "Regional domain name of each data bucket, by role."
  value       = { for role, b in module.data_bucket : role => b.bucket_regional_domain_name }
}

output "raw_bucket_name" {
  description = "Name of the raw (landing) bucket."
  value       = module.data_bucket["raw"].name
}

output "raw_bucket_arn" {
  description = "ARN of the raw (landing) bucket."
  value       = module.data_bucket["raw"].arn
}

output "processed_bucket_name" {
  description = "Name of the processed bucket."
  value       = module.data_bucket["processed"].name
}

output "processed_bucket_arn" {
  description = "ARN of the processed bucket."
  value       = module.data_bucket["processed"].arn
}

output "failed_bucket_name" {
  description = "Name of the failed bucket."
  value       = module.data_bucket["failed"].name
}

output "failed_bucket_arn" {
  description = "ARN of the failed bucket."
  value       = module.data_bucket["failed"].arn
}

output "access_log_bucket_name" {
  description = "Name of the access-log bucket (null when access_logging_enabled = false)."
  value       = try(aws_s3_bucket.access_logs[0].bucket, null)
}

output "access_log_bucket_arn" {
  description = "ARN of the access-log bucket (null when access_logging_enabled = false)."
  value       = try(aws_s3_bucket.access_logs[0].arn, null)
}

output "kms_key_arn" {
  description = "The KMS key the data buckets are encrypted with (the input, for composition)."
  value       = var.kms_key_arn
}

output "object_lock" {
  description = "Object Lock in force on the processed and failed buckets: mode (OFF, GOVERNANCE, COMPLIANCE) and retention_days."
  value       = var.object_lock
}

output "bucket_settings" {
  description = "Security-relevant settings of each data bucket as configured, by role (versioning, encryption, public access block, ownership, Object Lock, access logging, lifecycle)."
  value       = { for role, b in module.data_bucket : role => b.settings }
}
