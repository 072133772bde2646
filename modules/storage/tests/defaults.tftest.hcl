# Offline: every AWS call is mocked. Per-bucket settings are read from the
# bucket module's `settings` output (modules/bucket/tests test that module's
# resources and policy directly).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1" }
  }
}

variables {
  name_prefix = "ferry-test"
  account_id  = "111122223333"
  kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
}

run "defaults_are_secure" {
  command = plan

  assert {
    condition     = output.bucket_names == { raw = "ferry-test-raw-111122223333", processed = "ferry-test-processed-111122223333", failed = "ferry-test-failed-111122223333" }
    error_message = "buckets are <name_prefix>-<role>-<account_id>"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.versioning_status == "Enabled"])
    error_message = "every data bucket is versioned"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.sse_algorithm == "aws:kms" && s.kms_master_key_id == var.kms_key_arn && s.bucket_key_enabled])
    error_message = "every data bucket is encrypted with the storage CMK and S3 Bucket Keys"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.block_public_acls && s.block_public_policy && s.ignore_public_acls && s.restrict_public_buckets])
    error_message = "every data bucket blocks all public access"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.object_ownership == "BucketOwnerEnforced"])
    error_message = "ACLs are disabled on every data bucket"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.force_destroy == false])
    error_message = "destroy never deletes data by default"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.bucket_policy_attached])
    error_message = "every data bucket has its bucket policy"
  }
  assert {
    condition     = { for r, s in output.bucket_settings : r => s.object_lock_mode } == { raw = "OFF", processed = "GOVERNANCE", failed = "GOVERNANCE" }
    error_message = "processed and failed are locked in GOVERNANCE mode by default, raw is not"
  }
  assert {
    condition     = output.bucket_settings["processed"].object_lock_days == 7 && output.bucket_settings["failed"].object_lock_days == 7
    error_message = "default retention is 7 days"
  }
  assert {
    condition     = { for r, s in output.bucket_settings : r => s.access_log_prefix } == { raw = "raw/", processed = "processed/", failed = "failed/" }
    error_message = "each data bucket logs to its own prefix"
  }
  assert {
    condition = (
      output.bucket_settings["raw"].lifecycle == { current_expiration_days = 90, noncurrent_expiration_days = 30, abort_incomplete_multipart_days = 7 }
      && output.bucket_settings["processed"].lifecycle == { current_expiration_days = 0, noncurrent_expiration_days = 90, abort_incomplete_multipart_days = 7 }
      && output.bucket_settings["failed"].lifecycle == { current_expiration_days = 180, noncurrent_expiration_days = 30, abort_incomplete_multipart_days = 7 }
    )
    error_message = "per-role lifecycle defaults"
  }
}

run "access_log_bucket" {
  command = plan

  assert {
    condition     = module.access_log_bucket[0].settings.kind == "access-logs" && module.access_log_bucket[0].settings.force_destroy == false
    error_message = "the access-log bucket is the bucket module's access-logs kind, not force-destroyed"
  }
  assert {
    condition     = module.access_log_bucket[0].settings.sse_algorithm == "AES256" && module.access_log_bucket[0].settings.kms_master_key_id == null
    error_message = "the access-log bucket uses SSE-S3 (log delivery cannot use SSE-KMS)"
  }
  assert {
    condition     = module.access_log_bucket[0].settings.versioning_status == "Enabled"
    error_message = "the access-log bucket is versioned"
  }
  assert {
    condition = (
      module.access_log_bucket[0].settings.block_public_acls && module.access_log_bucket[0].settings.block_public_policy
      && module.access_log_bucket[0].settings.ignore_public_acls && module.access_log_bucket[0].settings.restrict_public_buckets
    )
    error_message = "the access-log bucket blocks all public access"
  }
  assert {
    condition     = module.access_log_bucket[0].settings.object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are disabled on the access-log bucket (delivery is authorised by bucket policy)"
  }
  assert {
    condition     = module.access_log_bucket[0].settings.bucket_policy_attached && module.access_log_bucket[0].settings.access_log_target == null
    error_message = "the access-log bucket has its policy and does not log into itself"
  }
  assert {
    condition     = module.access_log_bucket[0].settings.lifecycle == { current_expiration_days = 365, noncurrent_expiration_days = 30, abort_incomplete_multipart_days = 1 }
    error_message = "access logs are kept a year"
  }
  assert {
    condition     = output.access_log_bucket_name == "ferry-test-access-logs-111122223333"
    error_message = "access_log_bucket_name output"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.access_log_target == "ferry-test-access-logs-111122223333"])
    error_message = "every data bucket logs into the access-log bucket"
  }
}

run "access_log_policy_admits_only_log_delivery_for_the_data_buckets" {
  command = plan

  assert {
    condition     = [for s in data.aws_iam_policy_document.access_log_delivery.statement : s.sid] == ["AllowServerAccessLogDelivery"]
    error_message = "the log-delivery grant is the one statement storage adds to the access-log bucket's policy (the transport denies come from modules/bucket)"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.access_log_delivery.statement : [for p in s.principals : "${p.type}=${join(",", p.identifiers)}"][0]
      if s.effect == "Allow"
    ] == ["Service=logging.s3.amazonaws.com"]
    error_message = "the only allow is for the S3 logging service"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.access_log_delivery.statement :
      toset(s.actions) == toset(["s3:PutObject"])
      && toset(s.resources) == toset(["arn:aws:s3:::ferry-test-access-logs-111122223333/*"])
      && anytrue([for c in s.condition : c.test == "StringEquals" && c.variable == "aws:SourceAccount" && toset(c.values) == toset(["111122223333"])])
      && anytrue([for c in s.condition : c.test == "ArnLike" && c.variable == "aws:SourceArn" && toset(c.values) == toset([
        "arn:aws:s3:::ferry-test-raw-111122223333", "arn:aws:s3:::ferry-test-processed-111122223333", "arn:aws:s3:::ferry-test-failed-111122223333",
      ])])
      if s.effect == "Allow"
    ])
    error_message = "log delivery may only put objects, scoped to this account and the three data buckets"
  }
}

run "access_log_sources_extend_to_named_buckets" {
  command = plan
  variables { access_log_source_bucket_names = ["ferry-test-trail-111122223333"] }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.access_log_delivery.statement : [for c in s.condition : toset(c.values) if c.variable == "aws:SourceArn"][0]
      if s.effect == "Allow"
      ][0] == toset([
        "arn:aws:s3:::ferry-test-raw-111122223333", "arn:aws:s3:::ferry-test-processed-111122223333", "arn:aws:s3:::ferry-test-failed-111122223333",
        "arn:aws:s3:::ferry-test-trail-111122223333",
    ])
    error_message = "a named source bucket is added to the data buckets, nothing more"
  }
}

run "bucket_name_suffix_replaces_the_account_id" {
  command = plan

  variables {
    bucket_name_suffix = "dev-eu1"
  }

  assert {
    condition     = output.bucket_names["raw"] == "ferry-test-raw-dev-eu1" && output.access_log_bucket_name == "ferry-test-access-logs-dev-eu1"
    error_message = "names end in the given suffix"
  }
}

run "object_lock_off_creates_no_lock" {
  command = plan

  variables {
    object_lock = { mode = "OFF" }
  }

  assert {
    condition     = alltrue([for s in output.bucket_settings : s.object_lock_mode == "OFF" && s.object_lock_days == null])
    error_message = "no bucket is locked"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.versioning_status == "Enabled"])
    error_message = "versioning stays on"
  }
}

run "compliance_lock_when_confirmed" {
  command = plan

  variables {
    object_lock                  = { mode = "COMPLIANCE", retention_days = 30 }
    allow_compliance_object_lock = true
  }

  assert {
    condition     = { for r, s in output.bucket_settings : r => "${s.object_lock_mode}/${coalesce(s.object_lock_days, 0)}" } == { raw = "OFF/0", processed = "COMPLIANCE/30", failed = "COMPLIANCE/30" }
    error_message = "confirmed COMPLIANCE locks processed and failed for the given days"
  }
}

run "access_logging_can_be_switched_off" {
  command = plan

  variables {
    access_logging_enabled = false
  }

  assert {
    condition     = length(module.access_log_bucket) == 0
    error_message = "no access-log bucket"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.access_log_target == null])
    error_message = "no data bucket logs anywhere"
  }
  assert {
    condition     = output.access_log_bucket_name == null && output.access_log_bucket_arn == null
    error_message = "access-log outputs are null"
  }
  assert {
    condition     = alltrue([for s in output.bucket_settings : s.sse_algorithm == "aws:kms" && s.versioning_status == "Enabled"])
    error_message = "everything else stays"
  }
}

run "force_destroy_when_asked" {
  command = plan

  variables {
    force_destroy = true
  }

  assert {
    condition     = alltrue([for s in output.bucket_settings : s.force_destroy]) && module.access_log_bucket[0].settings.force_destroy
    error_message = "force_destroy reaches every bucket"
  }
}

run "lifecycle_overrides_per_role" {
  command = plan

  variables {
    bucket_lifecycle = {
      raw       = { current_expiration_days = 14 }
      processed = { current_expiration_days = 365, noncurrent_expiration_days = 7 }
    }
  }

  assert {
    condition     = output.bucket_settings["raw"].lifecycle == { current_expiration_days = 14, noncurrent_expiration_days = 30, abort_incomplete_multipart_days = 7 }
    error_message = "raw takes the override, keeps the other defaults"
  }
  assert {
    condition     = output.bucket_settings["processed"].lifecycle == { current_expiration_days = 365, noncurrent_expiration_days = 7, abort_incomplete_multipart_days = 7 }
    error_message = "processed takes the override"
  }
  assert {
    condition     = output.bucket_settings["failed"].lifecycle.current_expiration_days == 180
    error_message = "failed keeps its defaults"
  }
}

run "outputs" {
  command = apply

  assert {
    condition = (
      output.raw_bucket_name == output.bucket_names["raw"] && output.raw_bucket_arn == output.bucket_arns["raw"]
      && output.processed_bucket_name == output.bucket_names["processed"] && output.processed_bucket_arn == output.bucket_arns["processed"]
      && output.failed_bucket_name == output.bucket_names["failed"] && output.failed_bucket_arn == output.bucket_arns["failed"]
    )
    error_message = "convenience outputs agree with the maps"
  }
  assert {
    condition     = toset(keys(output.bucket_ids)) == toset(["raw", "processed", "failed"]) && output.access_log_bucket_arn == module.access_log_bucket[0].arn
    error_message = "bucket ids by role and the access-log bucket ARN"
  }
}

run "bucket_policies_can_be_switched_off_for_emulators" {
  command = plan

  variables {
    bucket_policies_enabled = false
  }

  assert {
    condition     = alltrue([for s in output.bucket_settings : s.bucket_policy_attached == false])
    error_message = "no data bucket policy"
  }
  assert {
    condition     = module.access_log_bucket[0].settings.bucket_policy_attached && length(data.aws_iam_policy_document.access_log_delivery.statement) == 1
    error_message = "the access-log bucket keeps the log-delivery grant"
  }
  assert {
    condition = alltrue([
      for s in output.bucket_settings :
      s.sse_algorithm == "aws:kms" && s.versioning_status == "Enabled" && s.block_public_policy && s.object_ownership == "BucketOwnerEnforced" && s.access_log_target != null
    ]) && output.bucket_settings["processed"].object_lock_mode == "GOVERNANCE"
    error_message = "encryption, versioning, public access blocks, ownership, logging and Object Lock stay"
  }
}

run "existing_raw_bucket_replaces_the_raw_bucket" {
  command = plan

  variables {
    existing_raw_bucket = {
      name        = "landing-zone-inbox"
      kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
    }
  }

  assert {
    condition     = toset(keys(module.data_bucket)) == toset(["processed", "failed"])
    error_message = "no raw bucket is created"
  }
  assert {
    condition = (
      output.bucket_names.raw == "landing-zone-inbox" && output.raw_bucket_name == "landing-zone-inbox"
      && output.bucket_arns.raw == "arn:aws:s3:::landing-zone-inbox" && output.raw_bucket_arn == "arn:aws:s3:::landing-zone-inbox"
      && output.bucket_ids.raw == "landing-zone-inbox"
      && output.bucket_regional_domain_names.raw == "landing-zone-inbox.s3.eu-west-1.amazonaws.com"
    )
    error_message = "the outputs name the existing bucket"
  }
  assert {
    condition     = output.bucket_kms_key_arns == { raw = var.existing_raw_bucket.kms_key_arn, processed = var.kms_key_arn, failed = var.kms_key_arn }
    error_message = "each bucket's key is reported, the existing bucket's own for raw"
  }
  assert {
    condition     = output.raw_bucket_created == false && !contains(keys(output.bucket_settings), "raw")
    error_message = "the existing bucket is not managed here"
  }
  assert {
    condition = toset([
      for s in data.aws_iam_policy_document.access_log_delivery.statement : [for c in s.condition : c.values if c.variable == "aws:SourceArn"][0]
      ][0]) == toset([
      "arn:aws:s3:::ferry-test-processed-111122223333", "arn:aws:s3:::ferry-test-failed-111122223333",
    ])
    error_message = "log delivery is admitted for the buckets created here only"
  }
}

run "existing_raw_bucket_with_arn_and_sse_s3" {
  command = plan

  variables {
    existing_raw_bucket = { name = "landing-zone-inbox", arn = "arn:aws-us-gov:s3:::landing-zone-inbox" }
  }

  assert {
    condition     = output.bucket_arns.raw == "arn:aws-us-gov:s3:::landing-zone-inbox" && output.bucket_kms_key_arns.raw == null
    error_message = "a given ARN is used as it is; no key for an SSE-S3 bucket"
  }
}
