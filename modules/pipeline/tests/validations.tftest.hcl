# Every input validation rejects what it documents (one run per rule).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name_prefix             = "ferry-test"
  account_id              = "111122223333"
  storage_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111"
  operational_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/22222222-2222-2222-2222-222222222222"
  logs_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-3333-3333-333333333333"
  processing_config       = file("tests/processing.json")
  bucket_names = {
    raw       = "ferry-test-raw"
    processed = "ferry-test-processed"
    failed    = "ferry-test-failed"
  }
  subnet_ids         = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  security_group_ids = ["sg-0a1b2c3d4e5f60003"]
  package_path       = "build/ferry-x86_64.zip"
  package_sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "rejects_name_with_uppercase" {
  command = plan
  variables {
    name_prefix = "Ferry-Dev"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_name_prefix_too_long" {
  command = plan
  variables {
    name_prefix = "ferry-this-prefix-is-33-characters"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_account_id_not_12_digits" {
  command = plan
  variables {
    account_id = "12345"
  }
  expect_failures = [var.account_id]
}

run "rejects_kms_alias_instead_of_key" {
  command = plan
  variables {
    storage_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:alias/ferry"
  }
  expect_failures = [var.storage_kms_key_arn]
}

run "rejects_operational_key_id_not_a_uuid" {
  command = plan
  variables {
    operational_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/ferry-operational"
  }
  expect_failures = [var.operational_kms_key_arn]
}

run "rejects_multi_region_key_id_too_short" {
  command = plan
  variables {
    logs_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd"
  }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_logs_key_in_another_region" {
  command = plan
  variables {
    logs_kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/33333333-3333-3333-3333-333333333333"
  }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_storage_key_in_another_partition" {
  command = plan
  variables {
    storage_kms_key_arn = "arn:aws-us-gov:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111"
  }
  expect_failures = [var.storage_kms_key_arn]
}

run "rejects_bucket_name_invalid" {
  command = plan
  variables {
    bucket_names = { raw = "Ferry_Raw", processed = "ferry-test-processed", failed = "ferry-test-failed" }
  }
  expect_failures = [var.bucket_names]
}

run "rejects_results_into_raw_bucket" {
  command = plan
  variables {
    bucket_names = { raw = "ferry-test-raw", processed = "ferry-test-raw", failed = "ferry-test-failed" }
  }
  expect_failures = [var.bucket_names]
}

run "rejects_no_subnets" {
  command = plan
  variables {
    subnet_ids = []
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_subnet_not_an_id" {
  command = plan
  variables {
    subnet_ids = ["10.0.1.0/24"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_no_security_groups" {
  command = plan
  variables {
    security_group_ids = []
  }
  expect_failures = [var.security_group_ids]
}

run "rejects_unknown_delivery" {
  command = plan
  variables {
    delivery = "sns"
  }
  expect_failures = [var.delivery]
}

run "rejects_processing_config_not_json" {
  command = plan
  variables {
    processing_config = "{\"routes\": [{\"name\": \"a\", \"prefix\": \"in/\"}"
  }
  expect_failures = [var.processing_config]
}

run "rejects_processing_config_not_an_object" {
  command = plan
  variables {
    processing_config = jsonencode([{ name = "a", prefix = "in/" }])
  }
  expect_failures = [var.processing_config]
}

run "rejects_processing_config_without_routes" {
  command = plan
  variables {
    processing_config = jsonencode({ limits = { max_records = 10 } })
  }
  expect_failures = [var.processing_config]
}

run "rejects_empty_routes" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_routes_not_a_list" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = { a = { name = "a", prefix = "in/" } } })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_without_name" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "in/a/" }, { prefix = "in/b/" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_prefix_not_a_string" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = 2024 }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_suffix_not_a_string" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "in/", suffix = [".csv"] }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_prefix_with_leading_slash" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "/incoming/" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_prefix_with_a_space" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "incoming/my files/" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_prefix_with_a_star" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "incoming/*/" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_prefix_longer_than_s3_allows" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "${join("", [for i in range(114) : "incoming/"])}" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_duplicate_route_names" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "a", prefix = "in/a/" }, { name = "a", prefix = "in/b/" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_shadowed_by_a_broader_one" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "everything", prefix = "incoming/" }, { name = "orders", prefix = "incoming/orders/", suffix = ".csv" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_route_shadowed_ignoring_case" {
  command = plan
  variables {
    processing_config = jsonencode({ routes = [{ name = "csv", prefix = "in/", suffix = ".csv" }, { name = "orders", prefix = "in/orders/", suffix = "-orders.CSV" }] })
  }
  expect_failures = [var.processing_config]
}

run "rejects_max_receive_count_zero" {
  command = plan
  variables {
    max_receive_count = 0
  }
  expect_failures = [var.max_receive_count]
}

run "rejects_max_receive_count_above_20" {
  command = plan
  variables {
    max_receive_count = 21
  }
  expect_failures = [var.max_receive_count]
}

run "rejects_retention_as_long_as_dlq" {
  command = plan
  variables {
    message_retention_seconds = 1209600
  }
  expect_failures = [var.message_retention_seconds]
}

run "rejects_package_not_a_zip" {
  command = plan
  variables {
    package_path = "build/ferry.tar.gz"
  }
  expect_failures = [var.package_path]
}

run "rejects_package_hash_in_hex" {
  command = plan
  variables {
    package_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
  }
  expect_failures = [var.package_sha256]
}

run "rejects_handler_without_module" {
  command = plan
  variables {
    handler = "handler"
  }
  expect_failures = [var.handler]
}

run "rejects_runtime_not_allowed" {
  command = plan
  variables {
    runtime = "python3.9"
  }
  expect_failures = [var.runtime]
}

run "rejects_unknown_architecture" {
  command = plan
  variables {
    architecture = "arm"
  }
  expect_failures = [var.architecture]
}

run "rejects_memory_too_small" {
  command = plan
  variables {
    memory_size = 64
  }
  expect_failures = [var.memory_size]
}

run "rejects_memory_too_large" {
  command = plan
  variables {
    memory_size = 10241
  }
  expect_failures = [var.memory_size]
}

run "rejects_timeout_zero" {
  command = plan
  variables {
    timeout = 0
  }
  expect_failures = [var.timeout]
}

run "rejects_timeout_above_15_minutes" {
  command = plan
  variables {
    timeout = 901
  }
  expect_failures = [var.timeout]
}

run "rejects_reserved_concurrency_zero" {
  command = plan
  variables {
    reserved_concurrent_executions = 0
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_reserved_concurrency_below_minus_one" {
  command = plan
  variables {
    reserved_concurrent_executions = -2
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_env_name_invalid" {
  command = plan
  variables {
    environment_variables = { "1BAD" = "x" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_password" {
  command = plan
  variables {
    environment_variables = { DB_PASSWORD = "hunter2" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_token_any_case" {
  command = plan
  variables {
    environment_variables = { apiToken = "abc" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_secret_not_a_reference" {
  command = plan
  variables {
    environment_variables = { CLIENT_SECRET_VALUE = "abc" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_access_key_value" {
  command = plan
  variables {
    # AWS documentation example key id, assembled so secret scanners do not report this file.
    environment_variables = { UPSTREAM = join("", ["AKIA", "IOSFODNN7EXAMPLE"]) }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_pem_value" {
  command = plan
  variables {
    environment_variables = { CERT = "-----BEGIN RSA PRIVATE KEY-----\nMIIE" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_overrides_ferry_setting" {
  command = plan
  variables {
    environment_variables = { FERRY_LEDGER_TABLE = "other" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_reserved_by_lambda" {
  command = plan
  variables {
    environment_variables = { AWS_REGION = "us-east-1" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_log_retention_not_a_cloudwatch_value" {
  command = plan
  variables {
    log_retention_days = 100
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_log_retention_never_expire" {
  command = plan
  variables {
    log_retention_days = 0
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_unknown_log_level" {
  command = plan
  variables {
    log_level = "VERBOSE"
  }
  expect_failures = [var.log_level]
}

run "rejects_signing_profile_not_an_arn" {
  command = plan
  variables {
    code_signing = { signing_profile_version_arns = ["ferry"] }
  }
  expect_failures = [var.code_signing]
}

run "rejects_signing_policy_unknown" {
  command = plan
  variables {
    code_signing = { signing_profile_version_arns = ["arn:aws:signer:eu-west-1:111122223333:/signing-profiles/ferry/abcdef1234"], untrusted_artifact_on_deployment = "Ignore" }
  }
  expect_failures = [var.code_signing]
}

run "rejects_too_many_signing_profiles" {
  command = plan
  variables {
    code_signing = { signing_profile_version_arns = [for i in range(21) : "arn:aws:signer:eu-west-1:111122223333:/signing-profiles/ferry${i}/abcdef1234"] }
  }
  expect_failures = [var.code_signing]
}

run "rejects_boundary_not_a_policy" {
  command = plan
  variables {
    role_permissions_boundary_arn = "arn:aws:iam::111122223333:role/boundary"
  }
  expect_failures = [var.role_permissions_boundary_arn]
}

run "rejects_batch_size_zero" {
  command = plan
  variables {
    batch_size = 0
  }
  expect_failures = [var.batch_size]
}

run "rejects_batch_size_too_large" {
  command = plan
  variables {
    batch_size                         = 10001
    maximum_batching_window_in_seconds = 5
  }
  expect_failures = [var.batch_size]
}

run "rejects_large_batch_without_window" {
  command = plan
  variables {
    batch_size = 100
  }
  expect_failures = [var.batch_size]
}

run "rejects_batching_window_too_long" {
  command = plan
  variables {
    maximum_batching_window_in_seconds = 301
  }
  expect_failures = [var.maximum_batching_window_in_seconds]
}

run "rejects_maximum_concurrency_below_two" {
  command = plan
  variables {
    maximum_concurrency = 1
  }
  expect_failures = [var.maximum_concurrency]
}

run "rejects_maximum_concurrency_above_reserved" {
  command = plan
  variables {
    maximum_concurrency = 20
  }
  expect_failures = [var.maximum_concurrency]
}

run "rejects_ledger_ttl_shorter_than_dlq" {
  command = plan
  variables {
    ledger_ttl_days = 14
  }
  expect_failures = [var.ledger_ttl_days]
}

run "rejects_database_port_invalid" {
  command = plan
  variables {
    database = { host = "db.internal", port = 70000 }
  }
  expect_failures = [var.database]
}

run "rejects_database_secret_not_an_arn" {
  command = plan
  variables {
    database = { host = "db.internal", secret_arn = "ferry/db" }
  }
  expect_failures = [var.database]
}

run "rejects_database_iam_user_without_resource" {
  command = plan
  variables {
    database = { host = "db.internal", iam_auth_user = "ferry_loader" }
  }
  expect_failures = [var.database]
}

run "rejects_database_resource_id_is_a_name" {
  command = plan
  variables {
    database = { host = "db.internal", iam_auth_user = "ferry_loader", resource_id = "ferry-db" }
  }
  expect_failures = [var.database]
}

run "rejects_database_iam_user_invalid" {
  command = plan
  variables {
    database = { host = "db.internal", iam_auth_user = "Ferry-Loader", resource_id = "db-ABCDEF" }
  }
  expect_failures = [var.database]
}

run "rejects_database_settings_without_host" {
  command = plan
  variables {
    database = { name = "ferry" }
  }
  expect_failures = [var.database]
}

run "rejects_queue_age_alarm_too_short" {
  command = plan
  variables {
    queue_age_alarm_seconds = 10
  }
  expect_failures = [var.queue_age_alarm_seconds]
}

run "rejects_alarm_email_invalid" {
  command = plan
  variables {
    notification_emails = ["ops at example.com"]
  }
  expect_failures = [var.notification_emails]
}

run "rejects_emails_with_existing_topic" {
  command = plan
  variables {
    existing_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:platform-alarms"
    notification_emails    = ["ops@example.com"]
  }
  expect_failures = [var.notification_emails]
}

run "rejects_existing_topic_not_an_arn" {
  command = plan
  variables {
    existing_sns_topic_arn = "platform-alarms"
  }
  expect_failures = [var.existing_sns_topic_arn]
}

run "rejects_existing_fifo_topic" {
  command = plan
  variables {
    existing_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:platform-alarms.fifo"
  }
  expect_failures = [var.existing_sns_topic_arn]
}

run "rejects_more_than_five_layers" {
  command = plan
  variables {
    layers = [for i in range(6) : "arn:aws:lambda:eu-west-1:111122223333:layer:extension-${i}:1"]
  }
  expect_failures = [var.layers]
}

run "rejects_the_same_layer_twice" {
  command = plan
  variables {
    layers = ["arn:aws:lambda:eu-west-1:111122223333:layer:otel:3", "arn:aws:lambda:eu-west-1:111122223333:layer:otel:3"]
  }
  expect_failures = [var.layers]
}

run "rejects_unversioned_layer_arn" {
  command = plan
  variables {
    layers = ["arn:aws:lambda:eu-west-1:111122223333:layer:otel"]
  }
  expect_failures = [var.layers]
}

run "rejects_layer_in_another_region" {
  command = plan
  variables {
    layers = ["arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-python-amd64-ver-1-25-0:1"]
  }
  expect_failures = [var.layers]
}

run "rejects_exec_wrapper_not_an_absolute_path" {
  command = plan
  variables {
    environment_variables = { AWS_LAMBDA_EXEC_WRAPPER = "otel-instrument" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_other_reserved_aws_lambda_names" {
  command = plan
  variables {
    environment_variables = { AWS_LAMBDA_FUNCTION_NAME = "other" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_env_overrides_config_hash" {
  command = plan
  variables {
    environment_variables = { FERRY_CONFIG_SHA256 = "0000" }
  }
  expect_failures = [var.environment_variables]
}

run "rejects_database_enabled_without_credentials" {
  command = plan
  variables {
    database = { host = "db.internal", enabled = true }
  }
  expect_failures = [var.database]
}

run "rejects_database_disabled_with_credentials" {
  command = plan
  variables {
    database = { host = "db.internal", enabled = false, secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry-db-AbCdEf" }
  }
  expect_failures = [var.database]
}
