# The maps below name each instance by a fixed key: a reference to the module call as a
# whole (`for role, b in module.data_bucket`) would make every consumer wait for all of
# each bucket's resources, the lifecycle configuration's minute of waiting included.

output "bucket_names" {
  description = "Name of each data bucket, by role (raw, processed, failed); raw is existing_raw_bucket's when given. Read from the created buckets, so a consumer waits for them."
  value = {
    raw       = try(module.data_bucket["raw"].name, var.existing_raw_bucket.name)
    processed = module.data_bucket["processed"].name
    failed    = module.data_bucket["failed"].name
  }
}

output "bucket_arns" {
  description = "ARN of each data bucket, by role (raw, processed, failed); raw is existing_raw_bucket's when given."
  value = {
    raw       = try(module.data_bucket["raw"].arn, local.existing_raw_arn.raw)
    processed = module.data_bucket["processed"].arn
    failed    = module.data_bucket["failed"].arn
  }
}

output "bucket_ids" {
  description = "Id of each data bucket, by role (raw, processed, failed)."
  value = {
    raw       = try(module.data_bucket["raw"].id, var.existing_raw_bucket.name)
    processed = module.data_bucket["processed"].id
    failed    = module.data_bucket["failed"].id
  }
}

output "bucket_regional_domain_names" {
  description = "Regional domain name of each data bucket, by role."
  value = {
    raw = try(
      module.data_bucket["raw"].bucket_regional_domain_name,
      "${var.existing_raw_bucket.name}.s3.${data.aws_region.current.id}.${data.aws_partition.current.dns_suffix}",
    )
    processed = module.data_bucket["processed"].bucket_regional_domain_name
    failed    = module.data_bucket["failed"].bucket_regional_domain_name
  }
}

output "bucket_kms_key_arns" {
  description = "Key of each data bucket's default encryption, by role: kms_key_arn for the buckets created here, existing_raw_bucket.kms_key_arn (null for SSE-S3) for an existing raw bucket."
  value       = local.bucket_kms_key_arns
}

output "raw_bucket_created" {
  description = "Whether the raw bucket is created here (false with existing_raw_bucket: its notification configuration, encryption and policy belong to its owner)."
  value       = var.existing_raw_bucket == null
}

output "raw_bucket_name" {
  description = "Name of the raw (landing) bucket."
  value       = try(module.data_bucket["raw"].name, var.existing_raw_bucket.name)
}

output "raw_bucket_arn" {
  description = "ARN of the raw (landing) bucket."
  value       = try(module.data_bucket["raw"].arn, local.existing_raw_arn.raw)
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
  value       = try(module.access_log_bucket[0].name, null)
}

output "access_log_bucket_arn" {
  description = "ARN of the access-log bucket (null when access_logging_enabled = false)."
  value       = try(module.access_log_bucket[0].arn, null)
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
  description = "Security-relevant settings of each data bucket created here, by role (versioning, encryption, public access block, ownership, Object Lock, access logging, lifecycle); an existing raw bucket is not listed."
  value = merge(
    try({ raw = module.data_bucket["raw"].settings }, {}),
    {
      processed = module.data_bucket["processed"].settings
      failed    = module.data_bucket["failed"].settings
    },
  )
}
