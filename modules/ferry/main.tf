# ferry: keys, network, buckets, the ingestion pipeline, the database it loads
# into, and the audit trail, composed once. Every environment calls this
# module; each part can be switched off or replaced by one that exists
# (existing_* / create_* inputs).

locals {
  emulated = var.emulator.enabled

  create_kms      = var.existing_kms_key_arns == null
  create_network  = var.existing_network == null
  create_database = var.existing_database == null && !local.emulated

  kms_key_arns = local.create_kms ? module.kms[0].key_arns : var.existing_kms_key_arns

  network = local.create_network ? {
    vpc_id                       = module.network[0].vpc_id
    private_subnet_ids           = module.network[0].private_subnet_ids
    isolated_subnet_ids          = module.network[0].isolated_subnet_ids
    processor_security_group_ids = [module.network[0].processor_security_group_id]
    database_security_group_ids  = [module.network[0].database_security_group_id]
  } : var.existing_network

  # The large-file lane: created, an existing state machine, or none.
  container_state_machine_arn = (
    var.create_container_lane ? module.container[0].state_machine_arn :
    var.existing_container_state_machine_arn == null ? "" : var.existing_container_state_machine_arn
  )
  container_key_users = var.create_container_lane ? module.container[0].key_user_role_arns : { storage = [], operational = [] }
  # What the task reads from the environment: the function's variables, with the
  # CA bundle where the image has it and the database secret injected by ECS.
  container_environment = {
    for k, v in merge(module.pipeline.function_environment, { FERRY_DB_SSLROOTCERT = "/app/ferry/certs/rds-ca-bundle.pem" }) :
    k => v if !contains(["FERRY_DB_SECRET_ARN", "FERRY_STATE_MACHINE_ARN", "FERRY_CONTAINER_LEASE_SECONDS"], k)
  }

  # Only read the zip when no hash is given (coalesce would read it regardless).
  package_sha256 = var.package_sha256 != null ? var.package_sha256 : filebase64sha256(var.package_path)

  # Where the processor connects: the RDS instance (IAM database
  # authentication as the loader role the migration creates; only the
  # migration reads the master secret), a PostgreSQL that exists, or the
  # emulator's local server (credentials in the secret below).
  database = (
    local.create_database ? {
      host              = module.database[0].address
      port              = module.database[0].port
      name              = module.database[0].db_name
      secret_arn        = ""
      iam_auth_user     = "ferry_loader"
      resource_id       = module.database[0].instance_resource_id
      master_secret_arn = module.database[0].master_user_secret_arn
      # The endpoint is known only after apply; the settings are passed.
      enabled = true
      } : local.emulated ? {
      host              = var.emulator.database.host
      port              = var.emulator.database.port
      name              = var.emulator.database.name
      secret_arn        = aws_secretsmanager_secret.emulator_database[0].arn
      iam_auth_user     = ""
      resource_id       = ""
      master_secret_arn = ""
      enabled           = true
      } : {
      host              = try(var.existing_database.host, null)
      port              = try(var.existing_database.port, null)
      name              = try(var.existing_database.name, null)
      secret_arn        = try(var.existing_database.secret_arn, null)
      iam_auth_user     = ""
      resource_id       = ""
      master_secret_arn = ""
      enabled           = null
    }
  )
}

module "kms" {
  source = "../kms"
  count  = local.create_kms ? 1 : 0

  name_prefix             = var.name_prefix
  account_id              = var.account_id
  tags                    = var.tags
  deletion_window_in_days = local.emulated ? 7 : var.kms_deletion_window_in_days

  key_administrators = var.kms_key_administrators
  # The functions' roles and any named users; nobody else in the account can
  # use a data key. The roles' ARNs are built from their names, so the key
  # policies are known at plan time (and reviewed); the keys still wait for
  # the roles created in the same apply (KMS refuses a policy naming a
  # principal that does not exist yet).
  key_users = {
    storage     = concat(module.pipeline.key_user_role_arns.storage, local.container_key_users.storage, var.kms_key_users.storage)
    operational = concat(module.pipeline.key_user_role_arns.operational, local.container_key_users.operational, var.kms_key_users.operational)
    logs        = var.kms_key_users.logs
  }
  key_decrypt_only_users = {
    # Macie reads SSE-KMS objects in the raw and failed buckets itself, and
    # needs kms:Decrypt alone.
    storage = var.create_audit && var.create_macie ? [module.audit[0].macie_service_role_arn] : []
  }
  principal_dependencies = concat(
    module.pipeline.created_role_arns,
    var.create_audit ? module.audit[0].created_macie_service_role_arns : [],
  )
  # The trail's ARN is known from audit's naming rule at plan time, so the
  # logs key admits exactly that trail without waiting for it.
  cloudtrail_source_arns = var.create_audit && var.create_trail ? [module.audit[0].trail_arn] : []
}

module "network" {
  source = "../network"
  count  = local.create_network ? 1 : 0

  name_prefix        = var.name_prefix
  account_id         = var.account_id
  tags               = var.tags
  vpc_cidr           = var.network.vpc_cidr
  availability_zones = var.network.availability_zones
  nat_mode           = var.network.nat_mode
  egress_cidrs       = var.network.egress_cidrs
  logs_kms_key_arn   = local.kms_key_arns.logs
  log_retention_days = var.log_retention_days
}

module "storage" {
  source = "../storage"

  name_prefix                  = var.name_prefix
  account_id                   = var.account_id
  tags                         = var.tags
  kms_key_arn                  = local.kms_key_arns.storage
  object_lock                  = local.emulated ? { mode = "OFF", retention_days = 1 } : var.object_lock
  allow_compliance_object_lock = var.allow_compliance_object_lock
  existing_raw_bucket          = var.existing_raw_bucket
  force_destroy                = local.emulated
  bucket_policies_enabled      = !local.emulated

  # The trail bucket delivers its server access logs to storage's access-log bucket.
  access_log_source_bucket_names = var.create_audit && var.create_trail ? [module.audit[0].trail_bucket_name] : []
}

module "database" {
  source = "../database"
  count  = local.create_database ? 1 : 0

  name_prefix             = var.name_prefix
  account_id              = var.account_id
  tags                    = var.tags
  subnet_ids              = local.network.isolated_subnet_ids
  security_group_ids      = local.network.database_security_group_ids
  operational_kms_key_arn = local.kms_key_arns.operational
  logs_kms_key_arn        = local.kms_key_arns.logs
  log_retention_days      = var.log_retention_days

  engine_version              = var.database.engine_version
  instance_class              = var.database.instance_class
  allocated_storage           = var.database.allocated_storage
  max_allocated_storage       = var.database.max_allocated_storage
  multi_az_enabled            = var.database.multi_az_enabled
  deletion_protection_enabled = var.database.deletion_protection_enabled
  backup_retention_period     = var.database.backup_retention_period
}

# The emulator's stand-in for the RDS-managed master secret: same shape
# ({"username", "password"}), same key. `make local` writes its value after the
# local PostgreSQL starts, so the password never enters Terraform state.
resource "aws_secretsmanager_secret" "emulator_database" {
  # checkov:skip=CKV2_AWS_57:Local emulator stack only: the secret lives as long as the emulator; RDS rotates the real one.
  count = local.emulated ? 1 : 0

  name                    = "${var.name_prefix}/database"
  description             = "Credentials of the local PostgreSQL that stands in for RDS"
  kms_key_id              = local.kms_key_arns.operational
  recovery_window_in_days = 0
  tags                    = var.tags
}

module "pipeline" {
  source = "../pipeline"

  name_prefix             = var.name_prefix
  account_id              = var.account_id
  tags                    = var.tags
  storage_kms_key_arn     = local.kms_key_arns.storage
  operational_kms_key_arn = local.kms_key_arns.operational
  logs_kms_key_arn        = local.kms_key_arns.logs
  bucket_names            = module.storage.bucket_names
  raw_bucket_kms_key_arn  = var.existing_raw_bucket == null ? null : var.existing_raw_bucket.kms_key_arn

  subnet_ids         = local.network.private_subnet_ids
  security_group_ids = local.network.processor_security_group_ids

  package_path      = var.package_path
  package_sha256    = local.package_sha256
  processing_config = file(var.processing_config_path)

  delivery                   = var.existing_raw_bucket == null ? var.delivery : "eventbridge"
  create_bucket_notification = var.existing_raw_bucket == null

  memory_size                    = var.processor.memory_size
  timeout                        = var.processor.timeout
  reserved_concurrent_executions = var.processor.reserved_concurrent_executions
  maximum_concurrency            = var.processor.maximum_concurrency
  max_receive_count              = var.processor.max_receive_count
  architecture                   = var.processor.architecture
  layers                         = var.processor.layers
  environment_variables          = var.processor.environment_variables
  log_retention_days             = var.log_retention_days
  deletion_protection_enabled    = var.deletion_protection_enabled && !local.emulated
  notification_emails            = var.notification_emails
  existing_sns_topic_arn         = var.existing_sns_topic_arn

  # File events also on the emulator: the local stack's server authorises each
  # PutEvents entry against its bus with events:source (ferry_dev.motoserver),
  # so the functions publish under their roles' policies. The notifications'
  # SNS delivery is not exercised there.
  events_enabled                 = var.events_enabled
  existing_event_bus             = var.existing_event_bus
  file_notifications             = local.emulated ? {} : var.file_notifications
  dashboard_enabled              = var.dashboard_enabled
  dashboard_database_instance_id = local.create_database ? module.database[0].instance_id : ""
  ferry_alarms                   = var.ferry_alarms
  # GuardDuty does not run on the emulator; the local stack feeds the gate scan results itself.
  malware_protection = local.emulated ? { enabled = false, tag_objects = false } : var.malware_protection

  database         = local.database
  create_migration = local.create_database

  container_lane = {
    state_machine_arn = local.container_state_machine_arn
    lease_seconds     = var.create_container_lane ? module.container[0].execution_seconds : 10800
  }

  create_function             = !local.emulated
  create_event_source_mapping = !local.emulated
  dlq_redrive_allow_policy    = !local.emulated
}

module "container" {
  source = "../container"
  count  = var.create_container_lane ? 1 : 0

  name_prefix             = var.name_prefix
  account_id              = var.account_id
  tags                    = var.tags
  storage_kms_key_arn     = local.kms_key_arns.storage
  operational_kms_key_arn = local.kms_key_arns.operational
  logs_kms_key_arn        = local.kms_key_arns.logs
  log_retention_days      = var.log_retention_days

  subnet_ids         = local.network.private_subnet_ids
  security_group_ids = local.network.processor_security_group_ids
  bucket_names       = module.storage.bucket_names
  table_names        = module.pipeline.table_names

  environment_variables = local.container_environment
  secrets               = local.database.secret_arn == "" ? {} : { FERRY_DB_SECRET = local.database.secret_arn }
  database = local.database.iam_auth_user == "" ? {} : {
    iam_auth_user = local.database.iam_auth_user
    resource_id   = local.database.resource_id
  }

  image                 = var.container_lane.image
  cpu                   = var.container_lane.cpu
  memory                = var.container_lane.memory
  cpu_architecture      = var.container_lane.cpu_architecture
  ephemeral_storage_gib = var.container_lane.ephemeral_storage_gib
  task_timeout_seconds  = var.container_lane.task_timeout_seconds
  task_max_attempts     = var.container_lane.task_max_attempts
  eventbridge_start     = var.container_lane.eventbridge_start
}

module "audit" {
  source = "../audit"
  count  = var.create_audit ? 1 : 0

  name_prefix          = var.name_prefix
  account_id           = var.account_id
  tags                 = var.tags
  logs_kms_key_arn     = local.kms_key_arns.logs
  findings_kms_key_arn = local.kms_key_arns.operational

  create_trail           = var.create_trail
  trail_logging_enabled  = !local.emulated
  data_event_bucket_arns = values(module.storage.bucket_arns)
  access_log_bucket_name = module.storage.access_log_bucket_name

  create_macie                     = var.create_macie
  create_macie_account             = var.macie.create_account
  create_macie_service_linked_role = var.macie.create_service_linked_role
  macie_classification_job_enabled = var.create_macie && !local.emulated
  macie_bucket_names               = [module.storage.bucket_names.raw, module.storage.bucket_names.failed]
  macie_schedule                   = var.macie.schedule
  macie_sampling_percentage        = var.macie.sampling_percentage

  trail_log_retention_days    = var.audit_log_retention_days
  findings_log_retention_days = var.audit_log_retention_days
  trail_bucket_retention_days = var.trail_bucket_retention_days
  notification_emails         = var.security_notification_emails
  existing_sns_topic_arn      = var.existing_sns_topic_arn
}
