# The data-bucket child module's resources, tested directly.

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
  lifecycle_rule    = { current_expiration_days = 0, noncurrent_expiration_days = 90, abort_incomplete_multipart_days = 7 }
  access_log_bucket = "ferry-test-access-logs-111122223333"
  access_log_prefix = "processed/"
}

run "bucket_resources" {
  command = plan

  module {
    source = "./modules/data-bucket"
  }

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

  module {
    source = "./modules/data-bucket"
  }

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

  module {
    source = "./modules/data-bucket"
  }

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

  module {
    source = "./modules/data-bucket"
  }

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
