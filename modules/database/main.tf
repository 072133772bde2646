# RDS PostgreSQL for ferry's CSV loads: private, encrypted with customer-managed
# keys, TLS-only, IAM authentication on, master password owned by RDS in
# Secrets Manager, every connection and schema change logged.

data "aws_partition" "current" {}

locals {
  identifier    = "${var.name_prefix}-db"
  major_version = split(".", var.engine_version)[0]
  family        = "postgres${local.major_version}"
  log_exports   = ["postgresql", "upgrade"]

  # Security and audit settings this module owns; callers add others through
  # extra_parameters (validated not to collide with these names).
  managed_parameters = {
    "rds.force_ssl"              = { value = "1", apply_method = "immediate" }
    "ssl_min_protocol_version"   = { value = "TLSv1.2", apply_method = "immediate" }
    "password_encryption"        = { value = "scram-sha-256", apply_method = "immediate" }
    "log_connections"            = { value = "1", apply_method = "immediate" }
    "log_disconnections"         = { value = "1", apply_method = "immediate" }
    "log_statement"              = { value = var.log_statement, apply_method = "immediate" }
    "log_min_duration_statement" = { value = tostring(var.log_min_duration_statement_ms), apply_method = "immediate" }
  }
  parameters = merge(var.extra_parameters, local.managed_parameters)

  tags = merge(var.tags, { "ferry:component" = "database" })
}

resource "aws_db_subnet_group" "this" {
  name        = "${local.identifier}-subnets"
  description = "Isolated subnets for ${local.identifier}"
  subnet_ids  = var.subnet_ids
  tags        = local.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${local.identifier}-${local.family}-"
  family      = local.family
  description = "ferry ${local.identifier}: TLS only, connection and statement logging"

  dynamic "parameter" {
    for_each = local.parameters
    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = local.tags

  lifecycle {
    # A new engine major needs a new family: create the new group before the
    # instance switches to it, then drop the old one.
    create_before_destroy = true
  }
}

# RDS would create these on first export with no expiry and no CMK; owning them
# here sets retention and encryption from the start.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_exports)

  name              = "/aws/rds/instance/${local.identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "monitoring_assume" {
  count = var.monitoring_interval > 0 ? 1 : 0

  statement {
    sid     = "RdsEnhancedMonitoring"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name               = "${local.identifier}-monitoring"
  description        = "Enhanced Monitoring for ${local.identifier}"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume[0].json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.db_name
  port           = var.port

  username                      = var.master_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.operational_kms_key_arn

  iam_database_authentication_enabled = true
  ca_cert_identifier                  = var.ca_cert_identifier

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  publicly_accessible    = false
  multi_az               = var.multi_az_enabled
  parameter_group_name   = aws_db_parameter_group.this.name

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = var.operational_kms_key_arn

  backup_retention_period   = var.backup_retention_period
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection_enabled
  skip_final_snapshot       = !var.final_snapshot_enabled
  final_snapshot_identifier = var.final_snapshot_enabled ? "${local.identifier}-final" : null

  auto_minor_version_upgrade  = var.auto_minor_version_upgrade_enabled
  allow_major_version_upgrade = false
  apply_immediately           = var.apply_immediately

  enabled_cloudwatch_logs_exports       = local.log_exports
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null
  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? var.operational_kms_key_arn : null
  performance_insights_retention_period = var.performance_insights_enabled ? var.performance_insights_retention_period : null

  tags = local.tags

  depends_on = [
    aws_cloudwatch_log_group.exports,
    aws_iam_role_policy_attachment.monitoring,
  ]
}
