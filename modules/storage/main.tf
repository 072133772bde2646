# Data buckets (raw, processed, failed) and their access-log bucket.
#
# Every data bucket: SSE-KMS with the storage CMK and S3 Bucket Keys, versioning,
# all public access blocked, ACLs disabled (BucketOwnerEnforced), a TLS-only
# bucket policy that also refuses uploads asking for another encryption, a
# lifecycle, and server access logging into the access-log bucket.
# processed and failed also carry Object Lock (var.object_lock).

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  suffix    = var.bucket_name_suffix != "" ? var.bucket_name_suffix : var.account_id

  roles      = toset(["raw", "processed", "failed"])
  lock_roles = var.object_lock.mode == "OFF" ? toset([]) : toset(["processed", "failed"])

  bucket_names = { for role in local.roles : role => "${var.name_prefix}-${role}-${local.suffix}" }
  # Built from the names (not read from the buckets) so that policies are
  # known at plan time and visible to plan reviews.
  bucket_arns = { for role, name in local.bucket_names : role => "arn:${local.partition}:s3:::${name}" }

  access_log_bucket_name = "${var.name_prefix}-access-logs-${local.suffix}"
  access_log_bucket_arn  = "arn:${local.partition}:s3:::${local.access_log_bucket_name}"
}

# --- data buckets ---------------------------------------------------------------
# One call of the data-bucket module per role: each bucket's settings hang off
# its own aws_s3_bucket, which keeps them visible to plan reviews and static
# checks (for_each'd sub-resources hide the link to their bucket).

module "data_bucket" {
  source   = "./modules/data-bucket"
  for_each = local.roles

  bucket_name   = local.bucket_names[each.key]
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy
  object_lock = (
    contains(local.lock_roles, each.key)
    ? var.object_lock
    : { mode = "OFF", retention_days = var.object_lock.retention_days }
  )
  lifecycle_rule = var.bucket_lifecycle[each.key]

  access_logging_enabled = var.access_logging_enabled
  bucket_policy_enabled  = var.bucket_policies_enabled
  # Read through the log bucket's policy so that logging is switched on only
  # once log delivery is allowed.
  access_log_bucket = try(aws_s3_bucket_policy.access_logs[0].bucket, "")
  access_log_prefix = "${each.key}/"

  tags = merge(var.tags, { Name = local.bucket_names[each.key], "ferry:bucket-role" = each.key })
}

# --- access-log bucket ------------------------------------------------------------
# S3 server access log delivery cannot write into a bucket whose default
# encryption is SSE-KMS, so this one bucket uses SSE-S3 (AES256). It holds only
# access records (who, when, which key, status), never object contents, and
# accepts writes only from the S3 logging service on behalf of the data buckets.

resource "aws_s3_bucket" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_145:S3 server access log delivery does not support SSE-KMS targets; this bucket uses SSE-S3 (AES256) and holds access records only.
  #checkov:skip=CKV_AWS_18:This is the access-log target itself; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per environment; the log bucket is versioned.
  #checkov:skip=CKV2_AWS_62:Nothing consumes access-log events; log files are read in batch.
  bucket              = local.access_log_bucket_name
  force_destroy       = var.force_destroy
  object_lock_enabled = false

  tags = merge(var.tags, { Name = local.access_log_bucket_name, "ferry:bucket-role" = "access-logs" })
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  bucket                  = aws_s3_bucket.access_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      # SSE-S3 on purpose: log delivery cannot use SSE-KMS (see above).
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = var.access_logging_enabled ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire-and-clean-up"
    status = "Enabled"

    filter {}

    dynamic "expiration" {
      for_each = var.bucket_lifecycle.access_logs.current_expiration_days > 0 ? [var.bucket_lifecycle.access_logs.current_expiration_days] : []
      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.bucket_lifecycle.access_logs.noncurrent_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.bucket_lifecycle.access_logs.abort_incomplete_multipart_days
    }
  }

  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"

    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}
