# Every input validation rejects what it should.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name_prefix = "ferry-test"
  account_id  = "111122223333"
  kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
}

run "rejects_bad_name_prefix" {
  command = plan
  variables { name_prefix = "ferry.test" }
  expect_failures = [var.name_prefix]
}

run "rejects_short_name_prefix" {
  command = plan
  variables { name_prefix = "fe" }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_account_id" {
  command = plan
  variables { account_id = "12345678901" }
  expect_failures = [var.account_id]
}

run "rejects_uppercase_suffix" {
  command = plan
  variables { bucket_name_suffix = "Dev" }
  expect_failures = [var.bucket_name_suffix]
}

run "rejects_dotted_suffix" {
  command = plan
  variables { bucket_name_suffix = "dev.eu" }
  expect_failures = [var.bucket_name_suffix]
}

run "rejects_reserved_suffix" {
  command = plan
  variables { bucket_name_suffix = "dev-s3alias" }
  expect_failures = [var.bucket_name_suffix]
}

run "rejects_double_hyphen_suffix" {
  command = plan
  variables { bucket_name_suffix = "dev--eu" }
  expect_failures = [var.bucket_name_suffix]
}

run "rejects_names_longer_than_63" {
  command = plan
  variables {
    name_prefix        = "ferry-a-rather-long-prefix-name"
    bucket_name_suffix = "and-a-long-suffix-too"
  }
  expect_failures = [var.bucket_name_suffix]
}

run "rejects_kms_alias" {
  command = plan
  variables { kms_key_arn = "alias/ferry-storage" }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bare_key_id" {
  command = plan
  variables { kms_key_arn = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9" }
  expect_failures = [var.kms_key_arn]
}

run "rejects_alias_arn" {
  command = plan
  variables { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/ferry-storage" }
  expect_failures = [var.kms_key_arn]
}

run "rejects_negative_expiration" {
  command = plan
  variables { bucket_lifecycle = { raw = { current_expiration_days = -1 } } }
  expect_failures = [var.bucket_lifecycle]
}

run "rejects_noncurrent_kept_forever" {
  command = plan
  variables { bucket_lifecycle = { failed = { noncurrent_expiration_days = 0 } } }
  expect_failures = [var.bucket_lifecycle]
}

run "rejects_zero_multipart_days" {
  command = plan
  variables { bucket_lifecycle = { processed = { abort_incomplete_multipart_days = 0 } } }
  expect_failures = [var.bucket_lifecycle]
}

run "rejects_fractional_days" {
  command = plan
  variables { bucket_lifecycle = { raw = { current_expiration_days = 1.5 } } }
  expect_failures = [var.bucket_lifecycle]
}

run "rejects_short_access_log_retention" {
  command = plan
  variables { bucket_lifecycle = { access_logs = { current_expiration_days = 30 } } }
  expect_failures = [var.bucket_lifecycle]
}

run "rejects_unknown_lock_mode" {
  command = plan
  variables { object_lock = { mode = "SOMETIMES" } }
  expect_failures = [var.object_lock]
}

run "rejects_zero_retention" {
  command = plan
  variables { object_lock = { retention_days = 0 } }
  expect_failures = [var.object_lock]
}

run "rejects_retention_over_ten_years" {
  command = plan
  variables { object_lock = { retention_days = 3651 } }
  expect_failures = [var.object_lock]
}

run "rejects_unconfirmed_compliance_lock" {
  command = plan
  variables { object_lock = { mode = "COMPLIANCE" } }
  expect_failures = [var.object_lock]
}

run "rejects_log_source_arn_instead_of_name" {
  command = plan
  variables { access_log_source_bucket_names = ["arn:aws:s3:::ferry-dev-trail-111122223333"] }
  expect_failures = [var.access_log_source_bucket_names]
}

run "rejects_wildcard_log_source" {
  command = plan
  variables { access_log_source_bucket_names = ["*"] }
  expect_failures = [var.access_log_source_bucket_names]
}

run "accepts_multi_region_key" {
  command = plan
  variables { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef" }
}

run "rejects_short_mrk_key" {
  command = plan
  variables { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123" }
  expect_failures = [var.kms_key_arn]
}

run "rejects_existing_raw_bucket_given_as_arn" {
  command = plan
  variables { existing_raw_bucket = { name = "arn:aws:s3:::landing-zone-inbox" } }
  expect_failures = [var.existing_raw_bucket]
}

run "rejects_existing_raw_bucket_arn_of_another_bucket" {
  command = plan
  variables { existing_raw_bucket = { name = "landing-zone-inbox", arn = "arn:aws:s3:::another-bucket" } }
  expect_failures = [var.existing_raw_bucket]
}

run "rejects_existing_raw_bucket_key_alias" {
  command = plan
  variables { existing_raw_bucket = { name = "landing-zone-inbox", kms_key_arn = "alias/aws/s3" } }
  expect_failures = [var.existing_raw_bucket]
}
