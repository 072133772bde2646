output "name" {
  description = "Bucket name. Waits for the bucket policy: pass it as another bucket's access_log_bucket so that logging starts only once log delivery is allowed."
  value       = aws_s3_bucket.this.bucket

  depends_on = [aws_s3_bucket_policy.this]
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

output "kind" {
  description = "The bucket kind: standard (SSE-KMS) or access-logs (SSE-S3)."
  value       = var.kind
}

output "kms_key_arn" {
  description = "The key of the bucket's default encryption (null for an access-logs bucket, which uses SSE-S3)."
  value       = var.kms_key_arn
}

output "object_lock_enabled" {
  description = "Whether the bucket was created with Object Lock."
  value       = aws_s3_bucket.this.object_lock_enabled
}

output "policy_json" {
  description = "The bucket policy document (null when no policy is attached)."
  value       = local.attach_policy ? data.aws_iam_policy_document.this.json : null
}

output "settings" {
  description = "The security-relevant settings of the bucket as configured (for tests and reviews)."
  value = {
    kind                    = var.kind
    force_destroy           = aws_s3_bucket.this.force_destroy
    versioning_status       = aws_s3_bucket_versioning.this.versioning_configuration[0].status
    sse_algorithm           = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm
    kms_master_key_id       = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id
    bucket_key_enabled      = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    block_public_acls       = aws_s3_bucket_public_access_block.this.block_public_acls
    block_public_policy     = aws_s3_bucket_public_access_block.this.block_public_policy
    ignore_public_acls      = aws_s3_bucket_public_access_block.this.ignore_public_acls
    restrict_public_buckets = aws_s3_bucket_public_access_block.this.restrict_public_buckets
    object_ownership        = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership
    object_lock_mode        = try(aws_s3_bucket_object_lock_configuration.this[0].rule[0].default_retention[0].mode, "OFF")
    object_lock_days        = try(aws_s3_bucket_object_lock_configuration.this[0].rule[0].default_retention[0].days, null)
    bucket_policy_attached  = length(aws_s3_bucket_policy.this) > 0
    access_log_target       = try(aws_s3_bucket_logging.this[0].target_bucket, null)
    access_log_prefix       = try(aws_s3_bucket_logging.this[0].target_prefix, null)
    lifecycle               = var.lifecycle_rule
  }
}
