output "trail_arn" {
  description = "ARN of the CloudTrail trail."
  value       = aws_cloudtrail.this.arn
}

output "trail_name" {
  description = "Name of the CloudTrail trail."
  value       = aws_cloudtrail.this.name
}

output "trail_bucket_name" {
  description = "Bucket that holds the trail's log files and digests."
  value       = aws_s3_bucket.trail.id
}

output "trail_bucket_arn" {
  description = "ARN of the trail bucket."
  value       = aws_s3_bucket.trail.arn
}

output "trail_log_group_name" {
  description = "CloudWatch log group the trail delivers to."
  value       = aws_cloudwatch_log_group.trail.name
}

output "trail_role_arn" {
  description = "Role CloudTrail assumes to write into the log group."
  value       = aws_iam_role.trail.arn
}

output "macie_account_id" {
  description = "Id of the Macie account resource (null when create_macie_account is false)."
  value       = try(aws_macie2_account.this[0].id, null)
}

output "macie_service_role_arn" {
  description = "ARN of Macie's service-linked role: grant it kms:Decrypt on the key of the scanned buckets (kms module input key_users.storage). From the created role when create_macie_service_linked_role is true, so key policies wait for it."
  value = (
    var.create_macie_service_linked_role
    ? aws_iam_service_linked_role.macie[0].arn
    : "arn:${local.partition}:iam::${var.account_id}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
  )
}

output "classification_job_id" {
  description = "Id of the scheduled Macie classification job (null when macie_classification_job_enabled is false)."
  value       = try(aws_macie2_classification_job.this[0].id, null)
}

output "findings_topic_arn" {
  description = "SNS topic that receives every Macie finding; subscribe the security team here."
  value       = aws_sns_topic.findings.arn
}

output "findings_log_group_name" {
  description = "CloudWatch log group that keeps every Macie finding event."
  value       = aws_cloudwatch_log_group.findings.name
}

output "findings_rule_arn" {
  description = "EventBridge rule that matches Macie findings."
  value       = aws_cloudwatch_event_rule.findings.arn
}
