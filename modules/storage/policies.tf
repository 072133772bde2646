# The access-log bucket's log-delivery grant. The transport denies come from
# modules/bucket (unless bucket_policies_enabled = false, emulators only).

data "aws_iam_policy_document" "access_log_delivery" {
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
      # The buckets created here (an existing raw bucket logs where its owner says).
      values = concat(
        values(local.created_arns),
        [for name in var.access_log_source_bucket_names : "arn:${local.partition}:s3:::${name}"],
      )
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}
