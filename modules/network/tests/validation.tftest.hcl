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
  name_prefix        = "ferry-test"
  account_id         = "111122223333"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
  logs_kms_key_arn   = "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
}

run "rejects_bad_name_prefix" {
  command = plan
  variables { name_prefix = "Ferry_Test" }
  expect_failures = [var.name_prefix]
}

run "rejects_long_name_prefix" {
  command = plan
  variables { name_prefix = "ferry-this-prefix-is-far-too-long-x" }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_account_id" {
  command = plan
  variables { account_id = "11112222333a" }
  expect_failures = [var.account_id]
}

run "rejects_non_cidr" {
  command = plan
  variables { vpc_cidr = "10.40.0.0" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_prefix_wider_than_16" {
  command = plan
  variables { vpc_cidr = "10.0.0.0/8" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_prefix_narrower_than_24" {
  command = plan
  variables { vpc_cidr = "10.40.0.0/26" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_host_bits" {
  command = plan
  variables { vpc_cidr = "10.40.1.0/16" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_no_zones" {
  command = plan
  variables { availability_zones = [] }
  expect_failures = [var.availability_zones]
}

run "rejects_seven_zones" {
  command = plan
  variables {
    availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g"]
    subnet_newbits     = 6
  }
  expect_failures = [var.availability_zones]
}

run "rejects_repeated_zone" {
  command = plan
  variables { availability_zones = ["eu-west-1a", "eu-west-1a"] }
  expect_failures = [var.availability_zones]
}

run "rejects_zone_id_instead_of_name" {
  command = plan
  variables { availability_zones = ["euw1-az1"] }
  expect_failures = [var.availability_zones]
}

run "rejects_zero_newbits" {
  command = plan
  variables { subnet_newbits = 0 }
  expect_failures = [var.subnet_newbits]
}

run "rejects_subnets_smaller_than_28" {
  command = plan
  variables {
    vpc_cidr       = "10.40.0.0/24"
    subnet_newbits = 5
  }
  expect_failures = [var.subnet_newbits]
}

run "rejects_too_few_blocks_for_three_tiers" {
  command = plan
  variables {
    availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    subnet_newbits     = 3
  }
  expect_failures = [var.subnet_newbits]
}

run "rejects_unknown_nat_mode" {
  command = plan
  variables { nat_mode = "always" }
  expect_failures = [var.nat_mode]
}

run "rejects_unknown_interface_endpoint" {
  command = plan
  variables { interface_endpoints = ["sqs", "s3"] }
  expect_failures = [var.interface_endpoints]
}

run "rejects_repeated_interface_endpoint" {
  command = plan
  variables { interface_endpoints = ["sqs", "sqs"] }
  expect_failures = [var.interface_endpoints]
}

run "rejects_privileged_database_port" {
  command = plan
  variables { database_port = 22 }
  expect_failures = [var.database_port]
}

run "rejects_name_prefix_starting_with_a_digit" {
  command = plan
  variables { name_prefix = "1ferry" }
  expect_failures = [var.name_prefix]
}

run "rejects_kms_alias_for_flow_logs" {
  command = plan
  variables { logs_kms_key_arn = "alias/ferry-logs" }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_kms_alias_arn_for_flow_logs" {
  command = plan
  variables { logs_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/ferry-logs" }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_truncated_multi_region_key" {
  command = plan
  variables { logs_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1a2b3c4d5e6f" }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_zones_outside_the_provider_region" {
  command = plan
  variables { availability_zones = ["eu-west-1a", "eu-central-1b"] }
  expect_failures = [aws_vpc.this]
}

run "rejects_never_expiring_flow_logs" {
  command = plan
  variables { log_retention_days = 0 }
  expect_failures = [var.log_retention_days]
}

run "rejects_retention_cloudwatch_does_not_offer" {
  command = plan
  variables { log_retention_days = 10 }
  expect_failures = [var.log_retention_days]
}

run "rejects_bad_aggregation_interval" {
  command = plan
  variables { flow_log_max_aggregation_interval = 300 }
  expect_failures = [var.flow_log_max_aggregation_interval]
}

run "rejects_a_catch_all_egress_cidr" {
  command = plan
  variables {
    nat_mode     = "single"
    egress_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.egress_cidrs]
}

run "rejects_a_host_address_as_egress_cidr" {
  command = plan
  variables {
    nat_mode     = "single"
    egress_cidrs = ["203.0.113.7/24"]
  }
  expect_failures = [var.egress_cidrs]
}

run "rejects_egress_cidrs_without_nat" {
  command = plan
  variables { egress_cidrs = ["203.0.113.0/24"] }
  expect_failures = [var.nat_mode]
}
