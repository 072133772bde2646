# Plan-only, offline: the defaults are secure and wired as documented.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix             = "ferry-test"
  account_id              = "111122223333"
  storage_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111"
  operational_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/22222222-2222-2222-2222-222222222222"
  logs_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-3333-3333-333333333333"
  subnet_ids              = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  security_group_ids      = ["sg-0a1b2c3d4e5f60003"]
  bucket_names            = { raw = "ferry-test-raw", processed = "ferry-test-processed", failed = "ferry-test-failed" }
  table_names             = { ledger = "ferry-test-ledger", records = "ferry-test-records", metadata = "ferry-test-metadata" }
  image                   = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  environment_variables   = { FERRY_LEDGER_TABLE = "ferry-test-ledger" }
  secrets                 = { FERRY_DB_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry-test/database-AbCdEf" }
}

run "rejects_a_tagged_image" {
  command = plan

  variables {
    image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry:latest"
  }

  expect_failures = [var.image]
}

run "rejects_a_tag_with_a_digest_suffix_missing" {
  command = plan

  variables {
    image = "ferry@sha256:abc"
  }

  expect_failures = [var.image]
}

run "rejects_an_unknown_cpu" {
  command = plan

  variables {
    cpu = 3000
  }

  expect_failures = [var.cpu]
}

run "rejects_memory_that_does_not_fit_the_cpu" {
  command = plan

  variables {
    cpu    = 256
    memory = 4096
  }

  expect_failures = [var.memory]
}

run "rejects_memory_off_the_step" {
  command = plan

  variables {
    cpu    = 8192
    memory = 18432
  }

  expect_failures = [var.memory]
}

run "rejects_memory_above_the_cpu_range" {
  command = plan

  variables {
    cpu    = 1024
    memory = 16384
  }

  expect_failures = [var.memory]
}

run "rejects_an_unknown_architecture" {
  command = plan

  variables {
    cpu_architecture = "ARM32"
  }

  expect_failures = [var.cpu_architecture]
}

run "rejects_small_ephemeral_storage" {
  command = plan

  variables {
    ephemeral_storage_gib = 20
  }

  expect_failures = [var.ephemeral_storage_gib]
}

run "rejects_root" {
  command = plan

  variables {
    user = "0:0"
  }

  expect_failures = [var.user]
}

run "rejects_a_user_name" {
  command = plan

  variables {
    user = "root"
  }

  expect_failures = [var.user]
}

run "rejects_a_short_timeout" {
  command = plan

  variables {
    task_timeout_seconds = 30
  }

  expect_failures = [var.task_timeout_seconds]
}

run "rejects_too_many_attempts" {
  command = plan

  variables {
    task_max_attempts = 11
  }

  expect_failures = [var.task_max_attempts]
}

run "rejects_a_zero_retry_interval" {
  command = plan

  variables {
    retry_interval_seconds = 0
  }

  expect_failures = [var.retry_interval_seconds]
}

run "rejects_logging_off" {
  command = plan

  variables {
    execution_log_level = "OFF"
  }

  expect_failures = [var.execution_log_level]
}

run "rejects_an_unknown_retention" {
  command = plan

  variables {
    log_retention_days = 2
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_a_password_in_the_environment" {
  command = plan

  variables {
    environment_variables = { FERRY_DB_LOADER_PASSWORD = "x" }
  }

  expect_failures = [var.environment_variables]
}

run "rejects_an_api_key_in_the_environment" {
  command = plan

  variables {
    environment_variables = { PARTNER_API_KEY = "x" }
  }

  expect_failures = [var.environment_variables]
}

run "rejects_task_variables_in_the_environment" {
  command = plan

  variables {
    environment_variables = { FERRY_TASK_KEY = "x" }
  }

  expect_failures = [var.environment_variables]
}

run "rejects_a_secret_that_is_not_a_secrets_manager_arn" {
  command = plan

  variables {
    secrets = { FERRY_DB_SECRET = "arn:aws:ssm:eu-west-1:111122223333:parameter/db" }
  }

  expect_failures = [var.secrets]
}

run "rejects_half_of_iam_database_auth" {
  command = plan

  variables {
    database = { iam_auth_user = "ferry_loader" }
  }

  expect_failures = [var.database]
}

run "rejects_eventbridge_start_without_prefixes" {
  command = plan

  variables {
    eventbridge_start = { enabled = true }
  }

  expect_failures = [var.eventbridge_start]
}

run "rejects_a_negative_min_size" {
  command = plan

  variables {
    eventbridge_start = { min_size_bytes = -1 }
  }

  expect_failures = [var.eventbridge_start]
}

run "rejects_too_many_event_retries" {
  command = plan

  variables {
    eventbridge_start = { maximum_retry_attempts = 186 }
  }

  expect_failures = [var.eventbridge_start]
}

run "rejects_a_short_event_age" {
  command = plan

  variables {
    eventbridge_start = { maximum_event_age_seconds = 59 }
  }

  expect_failures = [var.eventbridge_start]
}

run "rejects_no_cluster" {
  command = plan

  variables {
    create_cluster = false
  }

  expect_failures = [var.existing_cluster_arn]
}

run "rejects_a_cluster_twice" {
  command = plan

  variables {
    existing_cluster_arn = "arn:aws:ecs:eu-west-1:111122223333:cluster/shared"
  }

  expect_failures = [var.existing_cluster_arn]
}

run "rejects_a_malformed_cluster_arn" {
  command = plan

  variables {
    create_cluster       = false
    existing_cluster_arn = "shared"
  }

  expect_failures = [var.existing_cluster_arn]
}

run "rejects_no_subnets" {
  command = plan

  variables {
    subnet_ids = []
  }

  expect_failures = [var.subnet_ids]
}

run "rejects_a_malformed_security_group" {
  command = plan

  variables {
    security_group_ids = ["default"]
  }

  expect_failures = [var.security_group_ids]
}

run "rejects_an_aws_managed_key" {
  command = plan

  variables {
    storage_kms_key_arn = "alias/aws/s3"
  }

  expect_failures = [var.storage_kms_key_arn]
}

run "rejects_a_malformed_operational_key" {
  command = plan

  variables {
    operational_kms_key_arn = "key"
  }

  expect_failures = [var.operational_kms_key_arn]
}

run "rejects_a_malformed_logs_key" {
  command = plan

  variables {
    logs_kms_key_arn = "key"
  }

  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_a_bad_name_prefix" {
  command = plan

  variables {
    name_prefix = "Ferry_Test"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_a_bad_account" {
  command = plan

  variables {
    account_id = "1234"
  }

  expect_failures = [var.account_id]
}

run "rejects_a_bad_boundary" {
  command = plan

  variables {
    role_permissions_boundary_arn = "boundary"
  }

  expect_failures = [var.role_permissions_boundary_arn]
}

