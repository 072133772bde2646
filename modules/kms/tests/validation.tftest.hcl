# Every input validation rejects what it should.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1" }
  }
}

variables {
  name_prefix = "ferry-test"
  account_id  = "111122223333"
}

run "rejects_uppercase_name_prefix" {
  command = plan
  variables { name_prefix = "Ferry" }
  expect_failures = [var.name_prefix]
}

run "rejects_short_name_prefix" {
  command = plan
  variables { name_prefix = "fe" }
  expect_failures = [var.name_prefix]
}

run "rejects_long_name_prefix" {
  command = plan
  variables { name_prefix = "ferry-this-prefix-is-far-too-long-x" }
  expect_failures = [var.name_prefix]
}

run "rejects_name_prefix_ending_in_hyphen" {
  command = plan
  variables { name_prefix = "ferry-" }
  expect_failures = [var.name_prefix]
}

run "rejects_name_prefix_starting_with_a_digit" {
  command = plan
  variables { name_prefix = "1ferry" }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_account_id" {
  command = plan
  variables { account_id = "1234" }
  expect_failures = [var.account_id]
}

run "rejects_deletion_window_below_7" {
  command = plan
  variables { deletion_window_in_days = 6 }
  expect_failures = [var.deletion_window_in_days]
}

run "rejects_deletion_window_above_30" {
  command = plan
  variables { deletion_window_in_days = 31 }
  expect_failures = [var.deletion_window_in_days]
}

run "rejects_rotation_below_90" {
  command = plan
  variables { rotation_period_in_days = 89 }
  expect_failures = [var.rotation_period_in_days]
}

run "rejects_rotation_above_2560" {
  command = plan
  variables { rotation_period_in_days = 2561 }
  expect_failures = [var.rotation_period_in_days]
}

run "rejects_wildcard_key_user" {
  command = plan
  variables { key_users = { storage = ["*"] } }
  expect_failures = [var.key_users]
}

run "rejects_account_root_as_key_user" {
  command = plan
  variables { key_users = { logs = ["arn:aws:iam::111122223333:root"] } }
  expect_failures = [var.key_users]
}

run "rejects_wildcard_role_name_as_key_user" {
  command = plan
  variables { key_users = { operational = ["arn:aws:iam::111122223333:role/*"] } }
  expect_failures = [var.key_users]
}

run "rejects_non_trail_cloudtrail_arn" {
  command = plan
  variables { cloudtrail_source_arns = ["arn:aws:cloudtrail:eu-west-1:111122223333:trail/*"] }
  expect_failures = [var.cloudtrail_source_arns]
}

run "rejects_unknown_operational_service_principal" {
  command = plan
  variables { operational_service_principals = ["ec2.amazonaws.com"] }
  expect_failures = [var.operational_service_principals]
}

run "rejects_account_root_as_key_administrator" {
  command = plan
  variables { key_administrators = ["arn:aws:iam::111122223333:root"] }
  expect_failures = [var.key_administrators]
}

run "rejects_wildcard_decrypt_only_user" {
  command = plan
  variables {
    key_decrypt_only_users = { storage = ["arn:aws:iam::111122223333:role/*"] }
  }
  expect_failures = [var.key_decrypt_only_users]
}

# Macie only decrypts ("Analyzing encrypted Amazon S3 objects with Amazon
# Macie"): as a key user it would also get kms:GenerateDataKey.
run "rejects_macie_service_linked_role_as_key_user" {
  command = plan
  variables {
    key_users = { storage = ["arn:aws:iam::111122223333:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"] }
  }
  expect_failures = [var.key_users]
}
