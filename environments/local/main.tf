# The local stack: the same modules as environments/dev, applied to an AWS
# emulator (moto) with a local PostgreSQL standing in for RDS. `make local`
# starts both, applies this root, and runs the handler in a local poller.
#
# Nothing here re-implements infrastructure. What the emulator cannot provide
# is switched off through the modules' own inputs, all in one place:
locals {
  tags = {
    project     = "ferry"
    environment = "local"
  }

  emulator_switches = {
    # moto cannot run Lambda code without Docker. The queue, DLQ, tables,
    # delivery and alarms are created; the function and its event source
    # mapping are not. ferry_dev.worker polls the queue and calls the real
    # handler in-process with Lambda's SQS semantics.
    create_function             = false
    create_event_source_mapping = false
    # moto 5.2 does not store a queue's RedriveAllowPolicy, and the provider
    # waits for it until it times out: the DLQ is created without it.
    dlq_redrive_allow_policy = false
    # moto answers HTTP 500 to CloudTrail StartLogging: the trail, its bucket,
    # key and log group are created, logging is not started.
    trail_logging_enabled = false
    # moto has no Macie classification jobs: Macie is enabled and findings are
    # routed (EventBridge -> SNS + Logs), the scheduled job is not created.
    macie_classification_job_enabled = false
    # moto 5.2 ignores the conditions of bucket policies and applies every
    # conditional Deny (TLS-only, SSE-KMS-only) to every request, which would
    # deny all uploads and reads. Default SSE-KMS encryption with the storage
    # key, versioning, public access blocks and Object Lock stay on.
    bucket_policies_enabled = false
    # moto 5.2 demands a Content-MD5 / x-amz-sdk-checksum-algorithm header on
    # CopyObject into a bucket with default Object Lock retention (S3 does not,
    # and CopyObject cannot send one): rejected files are copied into the
    # failed bucket, so Object Lock is off locally.
    object_lock_mode = "OFF"
    # A throwaway stack: `make local-down` discards the emulator's memory, so
    # deletion protection and retained buckets would only get in the way.
    deletion_protection_enabled = false
    force_destroy               = true
  }
  # Not called at all: modules/database. RDS cannot run PostgreSQL on the
  # emulator (and its waiters cost ~80 s per apply). The PostgreSQL server
  # `make local` starts takes its place: its host and port come in as
  # var.database, and its credentials go into the Secrets Manager secret below,
  # shaped like the one RDS manages, so the processors use the real credentials
  # path (FERRY_DB_SECRET_ARN + verify-full TLS against the server's CA).
}

module "kms" {
  source = "../../modules/kms"

  name_prefix = var.name
  account_id  = var.account_id
  tags        = local.tags
  # Keys are deleted with the emulator; the shortest window is plenty.
  deletion_window_in_days = 7
}

module "network" {
  source = "../../modules/network"

  name_prefix          = var.name
  account_id           = var.account_id
  availability_zones   = ["${var.region}a", "${var.region}b"]
  flow_log_kms_key_arn = module.kms.key_arns.logs
  tags                 = local.tags
}

module "storage" {
  source = "../../modules/storage"

  name_prefix   = var.name
  account_id    = var.account_id
  kms_key_arn   = module.kms.key_arns.storage
  force_destroy = local.emulator_switches.force_destroy
  tags          = local.tags

  bucket_policies_enabled = local.emulator_switches.bucket_policies_enabled
  object_lock             = { mode = local.emulator_switches.object_lock_mode }
}

# Credentials of the local PostgreSQL, in the shape RDS manages for a master
# user ({"username", "password"}), encrypted with the operational key. The
# value is written by `make local` (ferry_dev.local) after the server starts,
# so the password never enters Terraform state.
resource "aws_secretsmanager_secret" "database" {
  # checkov:skip=CKV2_AWS_57:Local emulator stack: the secret lives as long as the emulator; RDS rotates the real one.
  name                    = "${var.name}/database"
  description             = "Credentials of the local PostgreSQL that stands in for RDS"
  kms_key_id              = module.kms.key_arns.operational
  recovery_window_in_days = 0
}

module "pipeline" {
  source = "../../modules/pipeline"

  name       = var.name
  account_id = var.account_id
  tags       = local.tags

  kms_key_arns = {
    storage     = module.kms.key_arns.storage
    operational = module.kms.key_arns.operational
    logs        = module.kms.key_arns.logs
  }
  bucket_names = {
    raw       = module.storage.bucket_names.raw
    processed = module.storage.bucket_names.processed
    failed    = module.storage.bucket_names.failed
  }
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.processor_security_group_id]

  routes = [{ prefix = "incoming/" }]

  # Short, so that a retry (visibility timeout = 6 x timeout = 90 s) and
  # dead-lettering (after 3 deliveries) happen within minutes on a laptop.
  timeout           = 15
  max_receive_count = 3

  package_path   = var.package_path
  package_sha256 = filebase64sha256(var.package_path)

  database = {
    host       = var.database.host
    port       = var.database.port
    name       = var.database.name
    secret_arn = aws_secretsmanager_secret.database.arn
  }

  create_function             = local.emulator_switches.create_function
  create_event_source_mapping = local.emulator_switches.create_event_source_mapping
  deletion_protection_enabled = local.emulator_switches.deletion_protection_enabled
  dlq_redrive_allow_policy    = local.emulator_switches.dlq_redrive_allow_policy
}

module "audit" {
  source = "../../modules/audit"

  name_prefix            = var.name
  account_id             = var.account_id
  logs_kms_key_arn       = module.kms.key_arns.logs
  findings_kms_key_arn   = module.kms.key_arns.operational
  data_event_bucket_arns = values(module.storage.bucket_arns)
  macie_bucket_names     = [module.storage.bucket_names.raw, module.storage.bucket_names.failed]
  access_log_bucket_name = module.storage.access_log_bucket_name
  tags                   = local.tags

  trail_logging_enabled            = local.emulator_switches.trail_logging_enabled
  macie_classification_job_enabled = local.emulator_switches.macie_classification_job_enabled

  # The emulator checks the access-log bucket's policy when the trail bucket's
  # logging is set, and the access_log_bucket_name output is known before that
  # policy exists: wait for the storage module as a whole.
  depends_on = [module.storage]
}
