# The trail's ARN and names are built from the naming rule in main.tf, not read
# from the resources: known at plan time from this module's inputs, so a caller
# can put trail_arn in the logs key's policy while the trail uses that key,
# without a dependency cycle. Null when create_trail = false.

output "trail_arn" {
  description = "ARN of the CloudTrail trail (null when create_trail is false). Known at plan time: feed it to the logs key's policy."
  value       = var.create_trail ? local.trail_arn : null
}

output "trail_name" {
  description = "Name of the CloudTrail trail (null when create_trail is false)."
  value       = var.create_trail ? local.trail_name : null
}

output "trail_bucket_name" {
  description = "Bucket that holds the trail's log files and digests (null when create_trail is false). Known at plan time: e.g. a source of the access-log bucket's delivery grant."
  value       = var.create_trail ? local.trail_bucket_name : null
}

output "trail_bucket_arn" {
  description = "ARN of the trail bucket (null when create_trail is false)."
  value       = var.create_trail ? local.trail_bucket_arn : null
}

output "trail_log_group_name" {
  description = "CloudWatch log group the trail delivers to (null when create_trail is false)."
  value       = try(aws_cloudwatch_log_group.trail[0].name, null)
}

output "trail_role_arn" {
  description = "Role CloudTrail assumes to write into the log group (null when create_trail is false)."
  value       = try(aws_iam_role.trail[0].arn, null)
}

output "macie_account_id" {
  description = "Id of the Macie account resource (null when not created here: create_macie or create_macie_account false)."
  value       = try(aws_macie2_account.this[0].id, null)
}

output "macie_service_role_arn" {
  description = "ARN of Macie's service-linked role, built from its well-known name (known at plan time): grant it kms:Decrypt on the key of the scanned buckets (kms module input key_decrypt_only_users.storage), also when Macie is managed by the organisation (its jobs read this account's buckets through this role). When this module creates the role, pass created_macie_service_role_arns to the kms module's principal_dependencies so the key policy is written after the role exists."
  value       = local.macie_role_arn
}

output "created_macie_service_role_arns" {
  description = "ARN of Macie's service-linked role as created by this module (known after apply; empty when create_macie or create_macie_service_linked_role is false): the kms module's principal_dependencies."
  value       = aws_iam_service_linked_role.macie[*].arn
}

output "classification_job_id" {
  description = "Id of the scheduled Macie classification job (null when no job is created: create_macie or macie_classification_job_enabled false)."
  value       = try(aws_macie2_classification_job.this[0].id, null)
}

output "findings_topic_arn" {
  description = "SNS topic that receives every Macie finding: the one created here (its ARN built from its name, known at plan time), or existing_sns_topic_arn."
  value       = local.topic_arn
}

output "findings_log_group_name" {
  description = "CloudWatch log group that keeps every Macie finding event."
  value       = aws_cloudwatch_log_group.findings.name
}

output "findings_rule_arn" {
  description = "EventBridge rule that matches Macie findings."
  value       = aws_cloudwatch_event_rule.findings.arn
}
