# The bucket module's resources and policy, per kind; offline with a mocked provider.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
}

variables {
  bucket_name       = "ferry-test-processed-111122223333"
  kms_key_arn       = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
  object_lock       = { mode = "GOVERNANCE", retention_days = 7 }
  tags              = { Name = "ferry-test-processed-111122223333" }
  lifecycle_rule    = { current_expiration_days = 0, noncurrent_expiration_days = 90, abort_incomplete_multipart_days = 7 }
  access_log_bucket = "ferry-test-access-logs-111122223333"
  access_log_prefix = "processed/"
}

run "bucket_resources" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == var.bucket_name && aws_s3_bucket.this.object_lock_enabled && aws_s3_bucket.this.force_destroy == false
    error_message = "bucket created with Object Lock, not force-destroyed"
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "versioning is enabled"
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
      && one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "SSE-KMS with the given key and S3 Bucket Keys"
  }
  assert {
    condition     = aws_s3_bucket_object_lock_configuration.this[0].rule[0].default_retention[0].mode == "GOVERNANCE" && aws_s3_bucket_object_lock_configuration.this[0].rule[0].default_retention[0].days == 7
    error_message = "default retention follows object_lock"
  }
  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == var.access_log_bucket && aws_s3_bucket_logging.this[0].target_prefix == "processed/"
    error_message = "server access logs go to the access-log bucket under the bucket's prefix"
  }
  assert {
    condition = (
      length([for r in aws_s3_bucket_lifecycle_configuration.this.rule : r if r.id == "expire-and-clean-up" && length(r.expiration) == 0]) == 1
      && [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.noncurrent_version_expiration[0].noncurrent_days if r.id == "expire-and-clean-up"][0] == 90
      && [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.abort_incomplete_multipart_upload[0].days_after_initiation if r.id == "expire-and-clean-up"][0] == 7
      && alltrue([for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.status == "Enabled"])
    )
    error_message = "lifecycle: no current expiry when 0, noncurrent and multipart clean-up always"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.expiration[0].expired_object_delete_marker if r.id == "remove-expired-delete-markers"][0]
    error_message = "expired delete markers are removed"
  }
}

run "bucket_policy" {
  command = plan

  assert {
    condition     = toset([for s in data.aws_iam_policy_document.this.statement : s.sid]) == toset(["DenyInsecureTransport", "DenyOutdatedTls", "DenyOtherEncryptionTypes", "DenyOtherKmsKeys"])
    error_message = "the four deny statements and nothing else"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      s.effect == "Deny" && [for p in s.principals : "${p.type}=${join(",", p.identifiers)}"] == ["AWS=*"]
    ])
    error_message = "every statement denies, for {\"AWS\": \"*\"}"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.this.statement : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"]
      if s.sid == "DenyInsecureTransport"
    ][0] == ["Bool aws:SecureTransport false"]
    error_message = "requests without TLS are denied"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.this.statement : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"]
      if s.sid == "DenyOutdatedTls"
    ][0] == ["NumericLessThan s3:TlsVersion 1.2"]
    error_message = "TLS below 1.2 is denied"
  }
  assert {
    condition = toset([
      for s in data.aws_iam_policy_document.this.statement : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"]
      if s.sid == "DenyOtherEncryptionTypes"
      ][0]) == toset([
      "StringNotEquals s3:x-amz-server-side-encryption aws:kms",
      "Null s3:x-amz-server-side-encryption false",
    ])
    error_message = "uploads asking for another encryption type are denied; uploads naming none are not"
  }
  assert {
    condition = toset([
      for s in data.aws_iam_policy_document.this.statement : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"]
      if s.sid == "DenyOtherKmsKeys"
      ][0]) == toset([
      "StringNotEquals s3:x-amz-server-side-encryption-aws-kms-key-id ${var.kms_key_arn}",
      "Null s3:x-amz-server-side-encryption-aws-kms-key-id false",
    ])
    error_message = "uploads asking for another KMS key are denied; uploads naming none are not"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      toset(s.actions) == toset(["s3:PutObject"]) && toset(s.resources) == toset(["arn:aws:s3:::${var.bucket_name}/*"])
      if startswith(s.sid, "DenyOther")
    ])
    error_message = "the encryption denies apply to object uploads"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      toset(s.resources) == toset(["arn:aws:s3:::${var.bucket_name}", "arn:aws:s3:::${var.bucket_name}/*"])
      if contains(["DenyInsecureTransport", "DenyOutdatedTls"], s.sid)
    ])
    error_message = "the transport denies cover the bucket and its objects"
  }
}

run "unlocked_bucket_without_logging" {
  command = plan

  variables {
    object_lock            = { mode = "OFF", retention_days = 7 }
    access_logging_enabled = false
    lifecycle_rule         = { current_expiration_days = 90, noncurrent_expiration_days = 30, abort_incomplete_multipart_days = 7 }
  }

  assert {
    condition     = !aws_s3_bucket.this.object_lock_enabled && length(aws_s3_bucket_object_lock_configuration.this) == 0
    error_message = "no Object Lock"
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "no access logging"
  }
  assert {
    condition     = length(aws_s3_bucket_policy.this) == 1
    error_message = "the bucket policy does not depend on logging or Object Lock"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.expiration[0].days if r.id == "expire-and-clean-up"][0] == 90
    error_message = "current versions expire after the given days"
  }
}

run "bucket_policy_off_for_emulators" {
  command = plan

  variables {
    bucket_policy_enabled = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0
    error_message = "no bucket policy"
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled" && aws_s3_bucket_public_access_block.this.block_public_policy && length(aws_s3_bucket_logging.this) == 1
    error_message = "everything else stays"
  }
}

run "multi_region_key_is_accepted" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "a multi-Region key encrypts the bucket like any other"
  }
}

run "cloudtrail_style_bucket" {
  command = plan

  variables {
    bucket_name        = "ferry-test-trail-111122223333"
    object_lock        = { mode = "OFF" }
    bucket_key_enabled = false
    lifecycle_rule     = { current_expiration_days = 730 }
    policy_documents = [jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "CloudTrailWrite"
        Effect    = "Allow"
        Action    = "s3:PutObject"
        Resource  = "arn:aws:s3:::ferry-test-trail-111122223333/AWSLogs/111122223333/*"
        Principal = { Service = "cloudtrail.amazonaws.com" }
      }]
    })]
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == false
    error_message = "the bucket key can be switched off"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.source_policy_documents == var.policy_documents && length(aws_s3_bucket_policy.this) == 1
    error_message = "extra policy documents are merged into the attached policy"
  }
  assert {
    condition     = toset([for s in data.aws_iam_policy_document.this.statement : s.sid]) == toset(["DenyInsecureTransport", "DenyOutdatedTls", "DenyOtherEncryptionTypes", "DenyOtherKmsKeys"])
    error_message = "the module's own denies stay in place next to the extra documents"
  }
  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.expiration[0].days if r.id == "expire-and-clean-up"][0] == 730
    error_message = "current versions expire after the given days"
  }
}

run "access_logs_kind" {
  command = plan

  variables {
    bucket_name            = "ferry-test-access-logs-111122223333"
    kind                   = "access-logs"
    kms_key_arn            = null
    object_lock            = { mode = "OFF" }
    access_logging_enabled = false
    access_log_bucket      = null
    lifecycle_rule         = { current_expiration_days = 365, abort_incomplete_multipart_days = 1 }
    policy_documents       = ["{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowServerAccessLogDelivery\",\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::ferry-test-access-logs-111122223333/*\",\"Principal\":{\"Service\":\"logging.s3.amazonaws.com\"}}]}"]
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
      && one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == null
    )
    error_message = "an access-logs bucket uses SSE-S3, the one encryption S3 log delivery accepts"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["DenyInsecureTransport", "DenyOutdatedTls"]
    error_message = "TLS denies only: log delivery names no KMS key"
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0 && length(aws_s3_bucket_object_lock_configuration.this) == 0 && !aws_s3_bucket.this.object_lock_enabled
    error_message = "no logging into itself, no Object Lock"
  }
  assert {
    condition = (
      aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled" && aws_s3_bucket_public_access_block.this.restrict_public_buckets
      && aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced" && length(aws_s3_bucket_policy.this) == 1
    )
    error_message = "otherwise hardened like every bucket"
  }
  assert {
    condition     = output.kind == "access-logs" && output.settings.sse_algorithm == "AES256"
    error_message = "outputs report the kind"
  }
}

run "access_logs_policy_off_keeps_the_delivery_grant" {
  command = plan

  variables {
    bucket_name            = "ferry-test-access-logs-111122223333"
    kind                   = "access-logs"
    kms_key_arn            = null
    object_lock            = { mode = "OFF" }
    access_logging_enabled = false
    bucket_policy_enabled  = false
    policy_documents       = ["{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowServerAccessLogDelivery\",\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::ferry-test-access-logs-111122223333/*\",\"Principal\":{\"Service\":\"logging.s3.amazonaws.com\"}}]}"]
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 1 && length(data.aws_iam_policy_document.this.statement) == 0
    error_message = "the given documents stay attached; only the module's denies go"
  }
}

# --- validations ---------------------------------------------------------------

run "rejects_dotted_bucket_name" {
  command = plan
  variables { bucket_name = "ferry.test.raw" }
  expect_failures = [var.bucket_name]
}

run "rejects_unknown_kind" {
  command = plan
  variables { kind = "logs" }
  expect_failures = [var.kind]
}

run "rejects_kms_alias" {
  command = plan
  variables { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/ferry-storage" }
  expect_failures = [var.kms_key_arn]
}

run "rejects_standard_bucket_without_key" {
  command = plan
  variables { kms_key_arn = null }
  expect_failures = [var.kms_key_arn]
}

run "rejects_access_logs_bucket_with_key" {
  command = plan
  variables {
    kind                   = "access-logs"
    object_lock            = { mode = "OFF" }
    access_logging_enabled = false
    policy_documents       = ["{\"Statement\":[]}"]
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_unknown_lock_mode" {
  command = plan
  variables { object_lock = { mode = "SOMETIMES" } }
  expect_failures = [var.object_lock]
}

run "rejects_retention_over_ten_years" {
  command = plan
  variables { object_lock = { mode = "GOVERNANCE", retention_days = 3651 } }
  expect_failures = [var.object_lock]
}

run "rejects_unconfirmed_compliance_lock" {
  command = plan
  variables { object_lock = { mode = "COMPLIANCE" } }
  expect_failures = [var.object_lock]
}

run "rejects_locked_access_logs_bucket" {
  command = plan
  variables {
    kind                   = "access-logs"
    kms_key_arn            = null
    object_lock            = { mode = "GOVERNANCE" }
    access_logging_enabled = false
    policy_documents       = ["{\"Statement\":[]}"]
  }
  expect_failures = [var.object_lock]
}

run "rejects_negative_expiration" {
  command = plan
  variables { lifecycle_rule = { current_expiration_days = -1 } }
  expect_failures = [var.lifecycle_rule]
}

run "rejects_noncurrent_kept_forever" {
  command = plan
  variables { lifecycle_rule = { noncurrent_expiration_days = 0 } }
  expect_failures = [var.lifecycle_rule]
}

run "rejects_zero_multipart_days" {
  command = plan
  variables { lifecycle_rule = { abort_incomplete_multipart_days = 0 } }
  expect_failures = [var.lifecycle_rule]
}

run "rejects_fractional_days" {
  command = plan
  variables { lifecycle_rule = { current_expiration_days = 1.5 } }
  expect_failures = [var.lifecycle_rule]
}

run "rejects_access_logs_bucket_logging_into_a_log_bucket" {
  command = plan
  variables {
    kind             = "access-logs"
    kms_key_arn      = null
    object_lock      = { mode = "OFF" }
    policy_documents = ["{\"Statement\":[]}"]
  }
  expect_failures = [var.access_logging_enabled]
}

run "rejects_logging_without_target" {
  command = plan
  variables { access_log_bucket = null }
  expect_failures = [var.access_log_bucket]
}

run "rejects_log_target_arn" {
  command = plan
  variables { access_log_bucket = "arn:aws:s3:::ferry-test-access-logs" }
  expect_failures = [var.access_log_bucket]
}

run "rejects_policy_document_that_is_not_a_policy" {
  command = plan
  variables { policy_documents = ["not json"] }
  expect_failures = [var.policy_documents]
}

run "rejects_allow_for_everyone" {
  command = plan
  variables {
    policy_documents = [jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*", Principal = { AWS = "*" } }] })]
  }
  expect_failures = [var.policy_documents]
}

run "rejects_allow_for_bare_star" {
  command = plan
  variables {
    policy_documents = [jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*", Principal = "*" }] })]
  }
  expect_failures = [var.policy_documents]
}

run "rejects_access_logs_bucket_without_delivery_grant" {
  command = plan
  variables {
    kind                   = "access-logs"
    kms_key_arn            = null
    object_lock            = { mode = "OFF" }
    access_logging_enabled = false
  }
  expect_failures = [var.policy_documents]
}
