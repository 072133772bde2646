# One hardened S3 bucket: every bucket ferry creates is one of these (storage's
# raw, processed, failed and access-log buckets, audit's trail bucket). Every
# setting hangs off the single aws_s3_bucket.this, so plan reviews and static
# checks see each bucket's facts directly.
#
# Two kinds:
# - standard: SSE-KMS with a customer-managed key; the policy also refuses
#   uploads that ask for another encryption type or key.
# - access-logs: SSE-S3 (AES256). S3 server access logging delivers only into
#   a bucket whose default encryption is SSE-S3 (Amazon S3 User Guide,
#   "Enabling Amazon S3 server access logging", destination bucket
#   requirements: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
#   It holds access records only, never object contents; the caller passes the
#   log-delivery grant in policy_documents.

data "aws_partition" "current" {}

locals {
  bucket_arn  = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  object_lock = var.object_lock.mode != "OFF"
  kms         = var.kind == "standard"

  attach_policy = var.bucket_policy_enabled || length(var.policy_documents) > 0
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per environment (a second region and key); versioning and Object Lock protect the data here.
  #checkov:skip=CKV2_AWS_62:Event notifications are owned by the caller (S3 allows one notification configuration per bucket): the pipeline configures the raw bucket's; the other buckets have no consumer.
  bucket              = var.bucket_name
  force_destroy       = var.force_destroy
  object_lock_enabled = local.object_lock

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      # SSE-S3 only for the access-logs kind (see the top of this file). Written
      # out rather than through local.kms: static checks evaluate it this way.
      sse_algorithm     = var.kind == "access-logs" ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.kms ? var.bucket_key_enabled : null
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = local.attach_policy ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # S3 refuses a bucket policy while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-and-clean-up"
    status = "Enabled"

    filter {}

    dynamic "expiration" {
      for_each = var.lifecycle_rule.current_expiration_days > 0 ? [var.lifecycle_rule.current_expiration_days] : []
      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.lifecycle_rule.noncurrent_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.lifecycle_rule.abort_incomplete_multipart_days
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

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = local.object_lock ? 1 : 0

  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = var.object_lock.mode
      days = var.object_lock.retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_logging_enabled ? 1 : 0

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}

# Deny statements name their principal as {"AWS": "*"} (not the bare "*"):
# equivalent in AWS, and accepted by emulators that reject a bare "*".
data "aws_iam_policy_document" "this" {
  source_policy_documents = var.policy_documents

  dynamic "statement" {
    for_each = var.bucket_policy_enabled ? [1] : []
    content {
      sid       = "DenyInsecureTransport"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [local.bucket_arn, "${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "Bool"
        variable = "aws:SecureTransport"
        values   = ["false"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.bucket_policy_enabled ? [1] : []
    content {
      sid       = "DenyOutdatedTls"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [local.bucket_arn, "${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "NumericLessThan"
        variable = "s3:TlsVersion"
        values   = ["1.2"]
      }
    }
  }

  # Uploads that name no encryption get the bucket default (the CMK); uploads
  # that explicitly ask for something else are refused. Each Null condition
  # makes its deny apply only when the header is present.
  dynamic "statement" {
    for_each = var.bucket_policy_enabled && local.kms ? [1] : []
    content {
      sid       = "DenyOtherEncryptionTypes"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringNotEquals"
        variable = "s3:x-amz-server-side-encryption"
        values   = ["aws:kms"]
      }

      condition {
        test     = "Null"
        variable = "s3:x-amz-server-side-encryption"
        values   = ["false"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.bucket_policy_enabled && local.kms ? [1] : []
    content {
      sid       = "DenyOtherKmsKeys"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringNotEquals"
        variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        values   = [var.kms_key_arn]
      }

      condition {
        test     = "Null"
        variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        values   = ["false"]
      }
    }
  }
}
