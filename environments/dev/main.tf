# One ferry environment: keys, network, buckets, the ingestion pipeline, the
# database it loads into, and the audit trail. This file is identical in
# environments/dev, staging and prod; each environment's terraform.tfvars
# holds what differs.

data "aws_partition" "current" {}

locals {
  name_prefix = "${var.project}-${var.environment}"

  default_tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # Only read the zip when no hash is given (coalesce would read it regardless).
  package_sha256 = var.package_sha256 != null ? var.package_sha256 : filebase64sha256(var.package_path)

  # The audit module names its trail <name_prefix>-trail; the logs key admits
  # exactly that trail (a string, so the key does not wait for the trail).
  trail_arn = "arn:${data.aws_partition.current.partition}:cloudtrail:${var.region}:${var.account_id}:trail/${local.name_prefix}-trail"

  # ...and its bucket <name_prefix>-trail-<account>, whose server access logs go
  # to the storage module's access-log bucket (a name, so storage need not wait for audit).
  trail_bucket_name = "${local.name_prefix}-trail-${var.account_id}"
}

module "kms" {
  source = "../../modules/kms"

  name_prefix = local.name_prefix
  account_id  = var.account_id

  key_users = {
    # Macie reads SSE-KMS objects in the raw and failed buckets itself.
    storage = [module.audit.macie_service_role_arn]
  }
  cloudtrail_source_arns = [local.trail_arn]
}

module "network" {
  source = "../../modules/network"

  name_prefix             = local.name_prefix
  account_id              = var.account_id
  vpc_cidr                = var.vpc_cidr
  availability_zones      = var.availability_zones
  nat_mode                = var.nat_mode
  flow_log_kms_key_arn    = module.kms.logs_key_arn
  flow_log_retention_days = var.log_retention_days
}

module "storage" {
  source = "../../modules/storage"

  name_prefix                  = local.name_prefix
  account_id                   = var.account_id
  kms_key_arn                  = module.kms.storage_key_arn
  object_lock                  = var.object_lock
  allow_compliance_object_lock = var.allow_compliance_object_lock

  access_log_source_bucket_names = [local.trail_bucket_name]
}

module "database" {
  source = "../../modules/database"

  name_prefix                    = local.name_prefix
  account_id                     = var.account_id
  subnet_ids                     = module.network.isolated_subnet_ids
  vpc_security_group_ids         = [module.network.database_security_group_id]
  kms_key_arn                    = module.kms.operational_key_arn
  master_user_secret_kms_key_arn = module.kms.operational_key_arn
  logs_kms_key_arn               = module.kms.logs_key_arn
  log_retention_days             = var.log_retention_days

  engine_version          = var.db_engine_version
  instance_class          = var.db_instance_class
  allocated_storage       = var.db_allocated_storage
  max_allocated_storage   = var.db_max_allocated_storage
  multi_az                = var.db_multi_az
  deletion_protection     = var.db_deletion_protection
  backup_retention_period = var.db_backup_retention_days
}

module "pipeline" {
  source = "../../modules/pipeline"

  name         = local.name_prefix
  account_id   = var.account_id
  kms_key_arns = module.kms.key_arns
  bucket_names = module.storage.bucket_names

  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.processor_security_group_id]

  package_path   = var.package_path
  package_sha256 = local.package_sha256

  memory_size                    = var.lambda_memory_size
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  maximum_concurrency            = var.lambda_maximum_concurrency
  log_retention_days             = var.log_retention_days
  deletion_protection_enabled    = var.table_deletion_protection
  alarm_emails                   = var.alarm_emails

  database = {
    host       = module.database.address
    port       = module.database.port
    name       = module.database.db_name
    secret_arn = module.database.master_user_secret_arn
  }
}

module "audit" {
  source = "../../modules/audit"

  name_prefix          = local.name_prefix
  account_id           = var.account_id
  logs_kms_key_arn     = module.kms.logs_key_arn
  findings_kms_key_arn = module.kms.operational_key_arn

  data_event_bucket_arns = values(module.storage.bucket_arns)
  macie_bucket_names     = [module.storage.bucket_names.raw, module.storage.bucket_names.failed]
  access_log_bucket_name = module.storage.access_log_bucket_name

  trail_log_retention_days    = var.audit_log_retention_days
  findings_log_retention_days = var.audit_log_retention_days
  trail_bucket_retention_days = var.trail_bucket_retention_days
  macie_schedule              = var.macie_schedule
  macie_sampling_percentage   = var.macie_sampling_percentage
  findings_emails             = var.security_emails
}
