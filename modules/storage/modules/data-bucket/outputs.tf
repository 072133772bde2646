output "name" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.bucket
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "id" {
  description = "Bucket id."
  value       = aws_s3_bucket.this.id
}

output "bucket_regional_domain_name" {
  description = "Regional domain name."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "object_lock_enabled" {
  description = "Whether the bucket was created with Object Lock."
  value       = aws_s3_bucket.this.object_lock_enabled
}

output "policy_json" {
  description = "The bucket policy document."
  value       = data.aws_iam_policy_document.this.json
}
