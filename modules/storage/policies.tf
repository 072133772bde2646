# The access-log bucket's policy (the data buckets' policy lives in
# modules/data-bucket): the log-delivery grant always; the transport denies
# unless bucket_policies_enabled = false (emulators only). Deny statements
# name their principal as {"AWS": "*"} (not the bare "*"): equivalent in AWS,
# and accepted by emulators that reject a bare "*" in a log target's policy.

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "AllowServerAccessLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.access_log_bucket_arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = concat(
        values(local.bucket_arns),
        [for name in var.access_log_source_bucket_names : "arn:${local.partition}:s3:::${name}"],
      )
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }

  dynamic "statement" {
    for_each = var.bucket_policies_enabled ? [1] : []
    content {
      sid       = "DenyInsecureTransport"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [local.access_log_bucket_arn, "${local.access_log_bucket_arn}/*"]

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
    for_each = var.bucket_policies_enabled ? [1] : []
    content {
      sid       = "DenyOutdatedTls"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [local.access_log_bucket_arn, "${local.access_log_bucket_arn}/*"]

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
}
