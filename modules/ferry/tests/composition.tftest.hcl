# Plan-only, offline: the composition wires every module, and each part can be
# switched off or replaced by one that exists.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name_prefix            = "ferry-test"
  account_id             = "111122223333"
  package_path           = "build/processor.zip"
  package_sha256         = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  processing_config_path = "../../lambda_src/config/ferry.json"
  network                = { availability_zones = ["eu-west-1a", "eu-west-1b"] }
}

run "everything_by_default" {
  command = plan

  assert {
    condition     = length(module.kms) == 1 && length(module.network) == 1 && length(module.database) == 1 && length(module.audit) == 1
    error_message = "by default the composition creates keys, network, database and audit"
  }
  assert {
    condition     = length(aws_secretsmanager_secret.emulator_database) == 0
    error_message = "the emulator's database secret exists only on the emulator"
  }
  assert {
    condition     = output.trail_arn == "arn:aws:cloudtrail:eu-west-1:111122223333:trail/ferry-test-trail"
    error_message = "the trail ARN is known at plan time from audit's naming rule"
  }
  assert {
    condition     = module.pipeline.function_environment["FERRY_CONFIG_SHA256"] == sha256(file(var.processing_config_path))
    error_message = "the function must know the hash of the configuration Terraform derived its filters from"
  }
}

run "existing_network" {
  command = plan

  variables {
    existing_network = {
      vpc_id                       = "vpc-0a1b2c3d4e5f60789"
      private_subnet_ids           = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
      isolated_subnet_ids          = ["subnet-0a1b2c3d4e5f60003", "subnet-0a1b2c3d4e5f60004"]
      processor_security_group_ids = ["sg-0a1b2c3d4e5f60005"]
      database_security_group_ids  = ["sg-0a1b2c3d4e5f60006"]
    }
  }

  assert {
    condition     = length(module.network) == 0
    error_message = "an existing VPC means no network module"
  }
  assert {
    condition     = output.vpc_id == "vpc-0a1b2c3d4e5f60789"
    error_message = "vpc_id must be the given VPC"
  }
}

run "existing_network_is_validated" {
  command = plan

  variables {
    existing_network = {
      vpc_id                       = "vpc-0a1b2c3d4e5f60789"
      private_subnet_ids           = ["subnet-0a1b2c3d4e5f60001"]
      isolated_subnet_ids          = ["subnet-0a1b2c3d4e5f60003"]
      processor_security_group_ids = ["sg-0a1b2c3d4e5f60005"]
      database_security_group_ids  = []
    }
  }
  expect_failures = [var.existing_network]
}

run "existing_keys" {
  command = plan

  variables {
    existing_kms_key_arns = {
      storage     = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
      operational = "arn:aws:kms:eu-west-1:111122223333:key/22222222-2222-2222-2222-222222222222"
      logs        = "arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-3333-3333-333333333333"
    }
  }

  assert {
    condition     = length(module.kms) == 0 && output.kms_key_arns.storage == var.existing_kms_key_arns.storage
    error_message = "given keys mean no kms module, and the given keys are used"
  }
}

run "existing_raw_bucket_through_eventbridge" {
  command = plan

  variables {
    existing_raw_bucket = { name = "acme-landing-prod", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef" }
  }

  assert {
    condition     = output.bucket_names.raw == "acme-landing-prod" && !module.storage.raw_bucket_created
    error_message = "the raw bucket must be the existing one, not a new one"
  }
  assert {
    condition     = length(module.pipeline.eventbridge_rule_arn == null ? [] : [1]) == 1
    error_message = "an existing raw bucket delivers through EventBridge"
  }
}

run "organisation_audit" {
  command = plan

  variables {
    create_trail = false
    create_macie = false
  }

  assert {
    condition     = output.trail_arn == null
    error_message = "no trail when the organisation's trail records the account"
  }
  assert {
    condition     = module.audit[0].macie_account_id == null && module.audit[0].classification_job_id == null
    error_message = "no Macie account or job when the organisation's administrator runs Macie"
  }
}

run "audit_off" {
  command = plan

  variables {
    create_audit = false
  }

  assert {
    condition     = length(module.audit) == 0 && output.findings_topic_arn == null
    error_message = "create_audit = false creates no audit module"
  }
}

run "existing_topic" {
  command = plan

  variables {
    existing_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:platform-alerts"
  }

  assert {
    condition     = output.alarm_topic_arn == var.existing_sns_topic_arn
    error_message = "alarms go to the given topic"
  }
}

run "existing_topic_is_validated" {
  command = plan

  variables {
    existing_sns_topic_arn = "platform-alerts"
  }
  expect_failures = [var.existing_sns_topic_arn]
}

run "existing_database" {
  command = plan

  variables {
    existing_database = { host = "pg.internal.example", name = "ingest", secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ingest-AbCdEf" }
  }

  assert {
    condition     = length(module.database) == 0 && output.database_address == "pg.internal.example"
    error_message = "a given database means no RDS instance, and the processor connects to it"
  }
}

run "emulator" {
  command = plan

  variables {
    emulator = { enabled = true, database = { port = 55432 } }
  }

  assert {
    condition     = length(module.database) == 0 && length(aws_secretsmanager_secret.emulator_database) == 1
    error_message = "on the emulator a local PostgreSQL replaces RDS, its credentials in a secret"
  }
  assert {
    condition     = output.function_name == null
    error_message = "the emulator runs no Lambda function"
  }
  assert {
    condition     = output.database_address == "localhost"
    error_message = "the processor connects to the local server"
  }
  assert {
    condition     = output.function_environment["FERRY_DB_AUTH"] == "secret" && contains(keys(output.function_environment), "FERRY_DB_SECRET_ARN") && output.migrate_function_name == null && output.deadletter_function_name == null
    error_message = "the local stack keeps secret-based auth (the emulator issues no RDS IAM tokens) and runs no functions"
  }
  assert {
    condition     = output.deadletter_environment["FERRY_ROLE"] == "deadletter" && output.deadletter_environment["FERRY_LEDGER_TABLE"] == "ferry-test-ledger"
    error_message = "the local dead-letter worker gets the consumer's environment"
  }
}

run "emulator_needs_its_database" {
  command = plan

  variables {
    emulator = { enabled = true }
  }
  expect_failures = [var.emulator]
}

run "name_prefix_is_validated" {
  command = plan

  variables {
    name_prefix = "Ferry_Prod"
  }
  expect_failures = [var.name_prefix]
}

run "account_id_is_validated" {
  command = plan

  variables {
    account_id = "1234"
  }
  expect_failures = [var.account_id]
}

run "availability_zones_are_validated" {
  command = plan

  variables {
    network = { availability_zones = ["eu-west-1a"] }
  }
  expect_failures = [var.network]
}

run "rds_uses_iam_authentication_and_a_migration" {
  command = plan

  assert {
    condition = (
      output.function_environment["FERRY_DB_AUTH"] == "iam" &&
      output.function_environment["FERRY_DB_USER"] == "ferry_loader" &&
      !contains(keys(output.function_environment), "FERRY_DB_SECRET_ARN")
    )
    error_message = "with RDS the processor logs in as ferry_loader with IAM authentication and gets no secret"
  }
  assert {
    condition     = length(module.pipeline.key_user_role_arns.operational) == 3 && length(module.pipeline.key_user_role_arns.storage) == 1
    error_message = "the processor, dead-letter and migration roles are the operational key's users; the processor alone the storage key's"
  }
  assert {
    condition     = output.migrate_function_name == "ferry-test-migrate" && output.deadletter_function_name == "ferry-test-deadletter"
    error_message = "RDS and a csv_postgres route: the migration runs from the apply; the dead-letter consumer exists"
  }
}

run "macie_already_enabled" {
  command = plan

  variables {
    macie = { create_account = false, create_service_linked_role = false }
  }

  assert {
    condition     = module.audit[0].macie_account_id == null
    error_message = "macie.create_account = false leaves an account where Macie is already enabled alone (the apply would fail otherwise)"
  }
}

run "egress_cidrs_bring_nat" {
  command = plan

  variables {
    network = { availability_zones = ["eu-west-1a", "eu-west-1b"], nat_mode = "single", egress_cidrs = ["203.0.113.0/24"] }
  }

  assert {
    condition     = length(module.network[0].nat_gateway_ids) == 1
    error_message = "egress CIDRs reach the network module and bring one NAT gateway"
  }
}

run "nat_mode_without_egress_cidrs_brings_none" {
  command = plan

  variables {
    network = { availability_zones = ["eu-west-1a", "eu-west-1b"], nat_mode = "per_az" }
  }

  assert {
    condition     = length(module.network[0].nat_gateway_ids) == 0
    error_message = "no egress CIDRs: no NAT"
  }
}

run "operations_by_default" {
  command = plan

  assert {
    condition     = output.event_bus_name == "ferry-test-files" && output.event_source == "ferry.ferry-test" && output.function_environment["FERRY_EVENT_BUS"] == "ferry-test-files"
    error_message = "file events go to the pipeline's own bus by default"
  }
  assert {
    condition     = output.dashboard_name == "ferry-test-pipeline" && output.malware_protection_plan_arn == null
    error_message = "a dashboard by default; the malware gate is opt-in"
  }
  assert {
    condition     = length(module.pipeline.alarm_names) > 0 && contains(module.pipeline.alarm_names, "ferry-test-rejection-rate")
    error_message = "alarms on ferry's own metrics by default"
  }
}

run "operations_inputs_reach_the_pipeline" {
  command = plan

  variables {
    events_enabled     = true
    existing_event_bus = "central-files"
    file_notifications = { failure = { emails = ["oncall@example.com"] } }
    dashboard_enabled  = false
    ferry_alarms       = { rejection_rate_percent = 40 }
    malware_protection = { enabled = true }
  }

  assert {
    condition     = output.event_bus_name == "central-files" && keys(output.file_notification_topic_arns) == ["failure"] && output.dashboard_name == null
    error_message = "bus, notifications and dashboard switch as given"
  }
  assert {
    condition     = output.function_environment["FERRY_MALWARE_GATE"] == "on"
    error_message = "the malware gate reaches the processor"
  }
}

run "emulator_has_file_events_and_no_malware_plan" {
  command = plan

  variables {
    emulator           = { enabled = true, database = { port = 55432 } }
    malware_protection = { enabled = true }
  }

  assert {
    condition     = output.malware_protection_plan_arn == null && !contains(keys(output.function_environment), "FERRY_MALWARE_GATE")
    error_message = "GuardDuty does not run on the emulator (no plan, no gate)"
  }
  assert {
    condition     = output.event_bus_name == "ferry-test-files" && output.function_environment["FERRY_EVENT_BUS"] == "ferry-test-files" && output.deadletter_environment["FERRY_EVENT_SOURCE"] == "ferry.ferry-test"
    error_message = "file events on the emulator too: both functions publish under their roles (ferry_dev.motoserver evaluates events:source)"
  }
}
