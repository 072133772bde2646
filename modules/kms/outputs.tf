output "key_arns" {
  description = "ARN of each customer-managed key, by tier (storage, operational, logs)."
  value       = { for tier, key in aws_kms_key.this : tier => key.arn }
}

output "key_ids" {
  description = "Key id of each customer-managed key, by tier."
  value       = { for tier, key in aws_kms_key.this : tier => key.key_id }
}

output "alias_arns" {
  description = "ARN of each key alias, by tier."
  value       = { for tier, alias in aws_kms_alias.this : tier => alias.arn }
}

output "alias_names" {
  description = "Name of each key alias (alias/<name_prefix>-<tier>), by tier."
  value       = { for tier, alias in aws_kms_alias.this : tier => alias.name }
}

output "storage_key_arn" {
  description = "ARN of the storage-tier key (S3 data buckets)."
  value       = aws_kms_key.this["storage"].arn
}

output "operational_key_arn" {
  description = "ARN of the operational-tier key (SQS, SNS, DynamoDB, Secrets Manager, RDS)."
  value       = aws_kms_key.this["operational"].arn
}

output "logs_key_arn" {
  description = "ARN of the logs-tier key (CloudWatch Logs, CloudTrail)."
  value       = aws_kms_key.this["logs"].arn
}

output "key_policies" {
  description = "Key policy JSON of each key, by tier (for review tooling)."
  value       = { for tier, doc in data.aws_iam_policy_document.key : tier => doc.json }
}
