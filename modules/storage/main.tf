# Data buckets (raw, processed, failed) and their access-log bucket, each one
# call of the shared modules/bucket:
#
# - raw, processed, failed: kind "standard": SSE-KMS with the storage CMK and
#   S3 Bucket Keys, versioning, all public access blocked, ACLs disabled, a
#   TLS-only policy that also refuses uploads asking for another encryption, a
#   lifecycle, and server access logging into the access-log bucket;
#   processed and failed also carry Object Lock (var.object_lock).
# - access logs: kind "access-logs": SSE-S3, because S3 server access logging
#   delivers only into SSE-S3 buckets (see modules/bucket), plus the
#   log-delivery grant below.
#
# existing_raw_bucket replaces the raw bucket with one that exists: nothing is
# created for it and the outputs name it.

data "aws_partition" "current" {}

# The region's name for the existing raw bucket's regional domain name. `id`
# rather than `name`: `name` is deprecated in provider 6.0 and `region` does
# not exist in 5.100; `id` holds the region name in both.
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  suffix    = var.bucket_name_suffix != "" ? var.bucket_name_suffix : var.account_id

  roles         = toset(["raw", "processed", "failed"])
  created_roles = var.existing_raw_bucket == null ? local.roles : toset(["processed", "failed"])
  lock_roles    = var.object_lock.mode == "OFF" ? toset([]) : toset(["processed", "failed"])

  created_names = { for role in local.created_roles : role => "${var.name_prefix}-${role}-${local.suffix}" }
  bucket_names = merge(
    local.created_names,
    var.existing_raw_bucket == null ? {} : { raw = var.existing_raw_bucket.name },
  )
  # Built from the names (not read from the buckets) so that policies are
  # known at plan time and visible to plan reviews.
  created_arns = { for role, name in local.created_names : role => "arn:${local.partition}:s3:::${name}" }
  bucket_arns = merge(
    local.created_arns,
    var.existing_raw_bucket == null ? {} : {
      raw = coalesce(var.existing_raw_bucket.arn, "arn:${local.partition}:s3:::${var.existing_raw_bucket.name}")
    },
  )
  bucket_kms_key_arns = merge(
    { for role in local.created_roles : role => var.kms_key_arn },
    var.existing_raw_bucket == null ? {} : { raw = var.existing_raw_bucket.kms_key_arn },
  )

  # The existing raw bucket's entries of the outputs.
  existing_raw     = var.existing_raw_bucket == null ? {} : { raw = var.existing_raw_bucket.name }
  existing_raw_arn = { for role, arn in local.bucket_arns : role => arn if contains(keys(local.existing_raw), role) }

  access_log_bucket_name = "${var.name_prefix}-access-logs-${local.suffix}"
  access_log_bucket_arn  = "arn:${local.partition}:s3:::${local.access_log_bucket_name}"
}

# --- data buckets ---------------------------------------------------------------
# One call per role: each bucket's settings hang off its own aws_s3_bucket,
# which keeps them visible to plan reviews and static checks (for_each'd
# sub-resources hide the link to their bucket).

module "data_bucket" {
  source   = "../bucket"
  for_each = local.created_roles

  bucket_name   = local.created_names[each.key]
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy
  object_lock = (
    contains(local.lock_roles, each.key)
    ? var.object_lock
    : { mode = "OFF", retention_days = var.object_lock.retention_days }
  )
  allow_compliance_object_lock = var.allow_compliance_object_lock
  lifecycle_rule               = var.bucket_lifecycle[each.key]

  access_logging_enabled = var.access_logging_enabled
  bucket_policy_enabled  = var.bucket_policies_enabled
  # The access-log bucket's `name` output waits for its policy, so logging is
  # switched on only once log delivery is allowed.
  access_log_bucket = try(module.access_log_bucket[0].name, null)
  access_log_prefix = "${each.key}/"

  tags = merge(var.tags, { Name = local.created_names[each.key], "ferry:bucket-role" = each.key })
}

# --- access-log bucket ------------------------------------------------------------
# Holds access records (who, when, which key, status), never object contents,
# and accepts writes only from the S3 logging service on behalf of the data
# buckets (and the named extra sources).

module "access_log_bucket" {
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only into SSE-S3 buckets; this access-logs bucket uses SSE-S3 (AES256) and holds access records only.
  #checkov:skip=CKV_AWS_18:This is the access-log target itself; logging it into itself would loop.
  source = "../bucket"
  count  = var.access_logging_enabled ? 1 : 0

  bucket_name   = local.access_log_bucket_name
  kind          = "access-logs"
  force_destroy = var.force_destroy
  lifecycle_rule = {
    current_expiration_days         = var.bucket_lifecycle.access_logs.current_expiration_days
    noncurrent_expiration_days      = var.bucket_lifecycle.access_logs.noncurrent_expiration_days
    abort_incomplete_multipart_days = var.bucket_lifecycle.access_logs.abort_incomplete_multipart_days
  }

  access_logging_enabled = false
  # The log-delivery grant stays even without the transport denies.
  bucket_policy_enabled = var.bucket_policies_enabled
  policy_documents      = [data.aws_iam_policy_document.access_log_delivery.json]

  tags = merge(var.tags, { Name = local.access_log_bucket_name, "ferry:bucket-role" = "access-logs" })
}

# --- upgrade from the layout where the access-log bucket was written inline ------

moved {
  from = aws_s3_bucket.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_policy.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.access_logs[0]
  to   = module.access_log_bucket[0].aws_s3_bucket_lifecycle_configuration.this
}
