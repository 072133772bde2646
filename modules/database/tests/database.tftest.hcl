# Plan-only tests with a mocked provider: secure defaults, the opt-outs that
# exist, and one failing run for every input validation.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  name_prefix             = "ferry-test"
  account_id              = "123456789012"
  subnet_ids              = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  security_group_ids      = ["sg-0aaaaaaaaaaaaaaa1"]
  operational_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
  logs_kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/33333333-3333-3333-3333-333333333333"
}

run "defaults_are_secure" {
  command = plan

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "the instance must never be publicly accessible"
  }
  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.operational_kms_key_arn
    error_message = "storage must be encrypted with the customer-managed key"
  }
  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.master_user_secret_kms_key_id == var.operational_kms_key_arn
    error_message = "the master password must be managed by RDS in Secrets Manager under the operational key"
  }
  assert {
    condition     = aws_db_instance.this.password == null
    error_message = "no password may ever be set in configuration"
  }
  assert {
    condition     = aws_db_instance.this.iam_database_authentication_enabled
    error_message = "IAM database authentication must be on"
  }
  assert {
    condition     = aws_db_instance.this.deletion_protection && !aws_db_instance.this.skip_final_snapshot && aws_db_instance.this.final_snapshot_identifier == "ferry-test-db-final"
    error_message = "deletion protection and a final snapshot are the defaults"
  }
  assert {
    condition     = aws_db_instance.this.multi_az
    error_message = "a Multi-AZ standby is the default"
  }
  assert {
    condition     = aws_db_instance.this.backup_retention_period == 7 && aws_db_instance.this.copy_tags_to_snapshot
    error_message = "seven days of backups, tags copied to snapshots"
  }
  assert {
    condition     = aws_db_instance.this.storage_type == "gp3" && aws_db_instance.this.max_allocated_storage == 100
    error_message = "gp3 storage with a bounded autoscaling ceiling"
  }
  assert {
    condition     = toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) == toset(["postgresql", "upgrade"])
    error_message = "postgresql and upgrade logs must be exported"
  }
  assert {
    condition     = aws_db_instance.this.performance_insights_enabled && aws_db_instance.this.performance_insights_kms_key_id == var.operational_kms_key_arn
    error_message = "Performance Insights must be on and encrypted with the customer-managed key"
  }
  assert {
    condition     = aws_db_instance.this.monitoring_interval == 60 && length(aws_iam_role.monitoring) == 1
    error_message = "Enhanced Monitoring is on by default, with its own role"
  }
  assert {
    condition     = aws_db_instance.this.auto_minor_version_upgrade && !aws_db_instance.this.allow_major_version_upgrade
    error_message = "minor upgrades automatic, major upgrades deliberate"
  }
  assert {
    condition     = aws_db_instance.this.ca_cert_identifier == "rds-ca-rsa2048-g1"
    error_message = "the default CA must be rds-ca-rsa2048-g1"
  }
  assert {
    condition     = aws_db_instance.this.engine == "postgres" && aws_db_parameter_group.this.family == "postgres16"
    error_message = "PostgreSQL 16 with a matching parameter group family by default"
  }
  assert {
    condition     = [for p in aws_db_parameter_group.this.parameter : p.value if p.name == "rds.force_ssl"] == ["1"]
    error_message = "rds.force_ssl must be 1"
  }
  assert {
    condition     = [for p in aws_db_parameter_group.this.parameter : p.value if p.name == "ssl_min_protocol_version"] == ["TLSv1.2"]
    error_message = "TLS 1.2 is the minimum protocol"
  }
  assert {
    condition     = alltrue([for name in ["log_connections", "log_disconnections"] : [for p in aws_db_parameter_group.this.parameter : p.value if p.name == name] == ["1"]])
    error_message = "connections and disconnections must be logged"
  }
  assert {
    condition     = [for p in aws_db_parameter_group.this.parameter : p.value if p.name == "log_statement"] == ["ddl"] && [for p in aws_db_parameter_group.this.parameter : p.value if p.name == "log_min_duration_statement"] == ["1000"]
    error_message = "schema changes and slow statements must be logged"
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.exports : g.retention_in_days == 365 && g.kms_key_id == var.logs_kms_key_arn])
    error_message = "exported log groups must have a retention and the logs key"
  }
  assert {
    condition     = toset([for g in aws_cloudwatch_log_group.exports : g.name]) == toset(["/aws/rds/instance/ferry-test-db/postgresql", "/aws/rds/instance/ferry-test-db/upgrade"])
    error_message = "log groups must carry the names RDS exports to"
  }
  assert {
    condition     = aws_db_subnet_group.this.subnet_ids == toset(var.subnet_ids)
    error_message = "the subnet group must use the given isolated subnets"
  }
  assert {
    condition     = anytrue([for c in data.aws_iam_policy_document.monitoring_assume[0].statement[0].condition : c.variable == "aws:SourceAccount" && contains(c.values, var.account_id)])
    error_message = "the monitoring role trust must be scoped to the account"
  }
}

run "prod_like_settings" {
  command = plan

  variables {
    engine_version          = "17.2"
    instance_class          = "db.r7g.large"
    backup_retention_period = 35
    allocated_storage       = 100
    max_allocated_storage   = 1000
    log_statement           = "mod"
    extra_parameters        = { "shared_preload_libraries" = { value = "pg_stat_statements", apply_method = "pending-reboot" } }
  }

  assert {
    condition     = aws_db_instance.this.backup_retention_period == 35 && aws_db_instance.this.instance_class == "db.r7g.large"
    error_message = "instance size and a long backup window must pass through"
  }
  assert {
    condition     = aws_db_parameter_group.this.family == "postgres17" && aws_db_instance.this.engine_version == "17.2"
    error_message = "the family must follow the engine major"
  }
  assert {
    condition     = [for p in aws_db_parameter_group.this.parameter : p.apply_method if p.name == "shared_preload_libraries"] == ["pending-reboot"]
    error_message = "extra parameters are added with their apply method"
  }
  assert {
    condition     = [for p in aws_db_parameter_group.this.parameter : p.value if p.name == "log_statement"] == ["mod"]
    error_message = "log_statement must follow the input"
  }
}

run "throwaway_environment_opt_outs" {
  command = plan

  variables {
    multi_az_enabled             = false
    deletion_protection_enabled  = false
    final_snapshot_enabled       = false
    monitoring_interval          = 0
    performance_insights_enabled = false
  }

  assert {
    condition     = !aws_db_instance.this.multi_az && !aws_db_instance.this.deletion_protection && aws_db_instance.this.skip_final_snapshot && aws_db_instance.this.final_snapshot_identifier == null
    error_message = "the explicit opt-outs must take effect"
  }
  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && aws_db_instance.this.monitoring_interval == 0
    error_message = "monitoring off means no monitoring role"
  }
  assert {
    condition     = !aws_db_instance.this.performance_insights_enabled
    error_message = "Performance Insights must be switchable off"
  }
  assert {
    condition     = aws_db_instance.this.storage_encrypted && !aws_db_instance.this.publicly_accessible
    error_message = "opt-outs never touch encryption or exposure"
  }
}

run "multi_region_keys_are_accepted" {
  command = plan

  variables {
    operational_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/mrk-22222222222222222222222222222222"
    logs_kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/mrk-33333333333333333333333333333333"
  }

  assert {
    condition     = aws_db_instance.this.kms_key_id == var.operational_kms_key_arn && alltrue([for g in aws_cloudwatch_log_group.exports : g.kms_key_id == var.logs_kms_key_arn])
    error_message = "multi-Region keys are accepted like single-Region ones"
  }
}

run "rejects_bad_name_prefix" {
  command = plan
  variables { name_prefix = "Ferry_Prod" }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_account_id" {
  command = plan
  variables { account_id = "12345" }
  expect_failures = [var.account_id]
}

run "rejects_single_subnet" {
  command = plan
  variables { subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"] }
  expect_failures = [var.subnet_ids]
}

run "rejects_long_name_prefix" {
  command = plan
  variables { name_prefix = "ferry-this-prefix-is-far-too-long-x" }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_subnet_id" {
  command = plan
  variables { subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "isolated-b"] }
  expect_failures = [var.subnet_ids]
}

run "rejects_no_security_group" {
  command = plan
  variables { security_group_ids = [] }
  expect_failures = [var.security_group_ids]
}

run "rejects_security_group_name_instead_of_id" {
  command = plan
  variables { security_group_ids = ["ferry-database"] }
  expect_failures = [var.security_group_ids]
}

run "rejects_kms_alias" {
  command = plan
  variables { operational_kms_key_arn = "alias/aws/rds" }
  expect_failures = [var.operational_kms_key_arn]
}

run "rejects_truncated_multi_region_key" {
  command = plan
  variables { operational_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/mrk-2222" }
  expect_failures = [var.operational_kms_key_arn]
}

run "rejects_bad_logs_key" {
  command = plan
  variables { logs_kms_key_arn = "" }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_unsupported_engine" {
  command = plan
  variables { engine_version = "11.22" }
  expect_failures = [var.engine_version]
}

run "rejects_t2_instance" {
  command = plan
  variables { instance_class = "db.t2.micro" }
  expect_failures = [var.instance_class]
}

run "rejects_bad_db_name" {
  command = plan
  variables { db_name = "1ferry-db" }
  expect_failures = [var.db_name]
}

run "rejects_well_known_master_username" {
  command = plan
  variables { master_username = "postgres" }
  expect_failures = [var.master_username]
}

run "rejects_low_port" {
  command = plan
  variables { port = 80 }
  expect_failures = [var.port]
}

run "rejects_small_storage" {
  command = plan
  variables { allocated_storage = 10 }
  expect_failures = [var.allocated_storage]
}

run "rejects_autoscaling_below_allocated" {
  command = plan
  variables {
    allocated_storage     = 200
    max_allocated_storage = 100
  }
  expect_failures = [var.max_allocated_storage]
}

run "rejects_short_backup_retention" {
  command = plan
  variables { backup_retention_period = 1 }
  expect_failures = [var.backup_retention_period]
}

run "rejects_bad_backup_window" {
  command = plan
  variables { backup_window = "3am" }
  expect_failures = [var.backup_window]
}

run "rejects_bad_maintenance_window" {
  command = plan
  variables { maintenance_window = "Sun:04:00-Sun:05:00" }
  expect_failures = [var.maintenance_window]
}

run "rejects_outdated_ca" {
  command = plan
  variables { ca_cert_identifier = "rds-ca-2019" }
  expect_failures = [var.ca_cert_identifier]
}

run "rejects_bad_monitoring_interval" {
  command = plan
  variables { monitoring_interval = 45 }
  expect_failures = [var.monitoring_interval]
}

run "rejects_bad_performance_insights_retention" {
  command = plan
  variables { performance_insights_retention_period = 30 }
  expect_failures = [var.performance_insights_retention_period]
}

run "rejects_bad_slow_query_threshold" {
  command = plan
  variables { log_min_duration_statement_ms = -5 }
  expect_failures = [var.log_min_duration_statement_ms]
}

run "rejects_log_statement_none" {
  command = plan
  variables { log_statement = "none" }
  expect_failures = [var.log_statement]
}

run "rejects_overriding_force_ssl" {
  command = plan
  variables { extra_parameters = { "rds.force_ssl" = { value = "0" } } }
  expect_failures = [var.extra_parameters]
}

run "rejects_bad_apply_method" {
  command = plan
  variables { extra_parameters = { "work_mem" = { value = "65536", apply_method = "later" } } }
  expect_failures = [var.extra_parameters]
}

run "rejects_bad_log_retention" {
  command = plan
  variables { log_retention_days = 42 }
  expect_failures = [var.log_retention_days]
}
