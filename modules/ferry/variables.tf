# Inputs of the composition. Everything an environment sets is here; the
# modules below keep their own validations, so a wrong value fails with the
# module's message.

# --- identity -------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `ferry-prod`. 3-32 lowercase letters, digits and hyphens, starting with a letter."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "account_id" {
  description = "AWS account the environment deploys into (an input, so that plans never call STS)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource, over the provider's default_tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

# --- keys -------------------------------------------------------------------------

variable "existing_kms_key_arns" {
  description = "Bring your own keys: customer-managed key ARNs by tier (storage, operational, logs). null creates them with modules/kms. Their key policies must admit what modules/kms admits (see its README)."
  type = object({
    storage     = string
    operational = string
    logs        = string
  })
  default = null
}

variable "kms_key_administrators" {
  description = "IAM role/user ARNs that administer the keys modules/kms creates and create the resources encrypted with them (typically the role that runs Terraform); never cryptographic use of data. Empty: the account root stands in (whoever IAM allows). The root keeps key administration either way (KMS's lockout safety check)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "kms_key_users" {
  description = "Further IAM role/user ARNs that may read and write data under each key, by tier (e.g. the operators who run `ferry reprocess` against the ledger). The processor, dead-letter and migration roles are added by the composition; nobody else in the account can use a data key."
  type = object({
    storage     = optional(list(string), [])
    operational = optional(list(string), [])
    logs        = optional(list(string), [])
  })
  default  = {}
  nullable = false
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before a deleted key is destroyed (7-30 days)."
  type        = number
  default     = 30
  nullable    = false
}

# --- network ----------------------------------------------------------------------

variable "network" {
  description = "The VPC modules/network creates: CIDR, availability zones (at least two), egress_cidrs (IPv4 networks outside AWS the processors call on 443; none by default) and the NAT mode used for them (single or per_az). Without egress_cidrs there is no NAT: AWS services through VPC endpoints only."
  type = object({
    vpc_cidr           = optional(string, "10.40.0.0/16")
    availability_zones = optional(list(string), [])
    nat_mode           = optional(string, "none")
    egress_cidrs       = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition     = length(var.network.availability_zones) == 0 || length(var.network.availability_zones) >= 2
    error_message = "network.availability_zones must list at least two zones (the database subnet group needs two)."
  }
}

variable "existing_network" {
  description = "Bring your own VPC: no network is created. The private subnets must reach S3, DynamoDB, SQS, KMS, Secrets Manager, CloudWatch Logs/Metrics and X-Ray (NAT or VPC endpoints; modules/network README, \"Bringing your own VPC\"); the isolated subnets (two zones at least) hold the database; the security groups are attached to the processor and to the database."
  type = object({
    vpc_id                       = string
    private_subnet_ids           = list(string)
    isolated_subnet_ids          = list(string)
    processor_security_group_ids = list(string)
    database_security_group_ids  = list(string)
  })
  default = null

  validation {
    condition = var.existing_network == null ? true : (
      can(regex("^vpc-[0-9a-f]{8,17}$", var.existing_network.vpc_id)) &&
      length(var.existing_network.private_subnet_ids) >= 1 &&
      length(var.existing_network.isolated_subnet_ids) >= 2 &&
      length(var.existing_network.processor_security_group_ids) >= 1 &&
      alltrue([for id in concat(var.existing_network.private_subnet_ids, var.existing_network.isolated_subnet_ids) : can(regex("^subnet-[0-9a-f]{8,17}$", id))]) &&
      alltrue([for id in concat(var.existing_network.processor_security_group_ids, var.existing_network.database_security_group_ids) : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    )
    error_message = "existing_network needs a vpc-... id, at least one private and two isolated subnet-... ids, and at least one processor sg-... id (database security groups too, unless the database is not created)."
  }
}

# --- storage ----------------------------------------------------------------------

variable "object_lock" {
  description = "Object Lock of the processed and failed buckets (modules/storage): mode OFF | GOVERNANCE | COMPLIANCE, retention_days. COMPLIANCE also needs allow_compliance_object_lock."
  type = object({
    mode           = optional(string, "GOVERNANCE")
    retention_days = optional(number, 7)
  })
  default  = {}
  nullable = false
}

variable "allow_compliance_object_lock" {
  description = "Confirms object_lock.mode = COMPLIANCE (objects undeletable, even by root, until retention ends)."
  type        = bool
  default     = false
  nullable    = false
}

variable "existing_raw_bucket" {
  description = "Bring your own raw bucket: files land in a bucket that exists. ferry then does not write its notification configuration (S3 keeps one per bucket): events come through EventBridge, which the bucket's owner enables on it (`aws s3api put-bucket-notification-configuration` with EventBridgeConfiguration, or `eventbridge = true` on its aws_s3_bucket_notification). kms_key_arn: the key of the bucket's default encryption, or null for SSE-S3."
  type = object({
    name        = string
    arn         = optional(string)
    kms_key_arn = optional(string)
  })
  default = null
}

# --- processing -------------------------------------------------------------------

variable "package_path" {
  description = "The processor zip (`make build` writes build/processor.zip)."
  type        = string
  nullable    = false
}

variable "package_sha256" {
  description = "Base64 SHA-256 of the zip; null computes it from package_path (the file must then exist at plan time)."
  type        = string
  default     = null
}

variable "processing_config_path" {
  description = "The processing configuration (routes, schemas, datasets) the zip carries as ferry_config.json; `make build CONFIG=<path>` packs the same file. The S3 / EventBridge filters are derived from its routes, and the function refuses to run with a zip whose configuration differs."
  type        = string
  nullable    = false
}

variable "processor" {
  description = "The processor function and its queue: memory (MB), timeout (s), reserved concurrency (-1 none), the event source mapping's maximum concurrency, deliveries before the dead-letter queue, Lambda layers (e.g. an OpenTelemetry collector) and extra environment variables (AWS_LAMBDA_EXEC_WRAPPER allowed)."
  type = object({
    memory_size                    = optional(number, 1024)
    timeout                        = optional(number, 120)
    reserved_concurrent_executions = optional(number, 10)
    maximum_concurrency            = optional(number, 5)
    max_receive_count              = optional(number, 5)
    architecture                   = optional(string, "x86_64")
    layers                         = optional(list(string), [])
    environment_variables          = optional(map(string), {})
  })
  default  = {}
  nullable = false
}

variable "create_container_lane" {
  description = "Create the large-file lane (modules/container): routes with size_threshold_bytes or lane = \"container\" hand their objects to a Step Functions state machine that runs the same processors as a Fargate task. Off by default; needs container_lane.image."
  type        = bool
  default     = false
  nullable    = false
}

variable "container_lane" {
  description = "The large-file lane's task and state machine (modules/container's inputs of the same names): image pinned by digest (build it from the repository's Dockerfile), Fargate cpu/memory, architecture, the task's timeout and retries, and the optional EventBridge start."
  type = object({
    image                 = optional(string, "")
    cpu                   = optional(number, 1024)
    memory                = optional(number, 2048)
    cpu_architecture      = optional(string, "X86_64")
    ephemeral_storage_gib = optional(number, 21)
    task_timeout_seconds  = optional(number, 3600)
    task_max_attempts     = optional(number, 3)
    eventbridge_start = optional(object({
      enabled        = optional(bool, false)
      prefixes       = optional(list(string), [])
      min_size_bytes = optional(number, 0)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.create_container_lane || var.container_lane.image != ""
    error_message = "container_lane.image is required with create_container_lane: the image built from the Dockerfile, pinned by digest (<repository>@sha256:<digest>)."
  }
}

variable "existing_container_state_machine_arn" {
  description = "Hand container-lane objects to a state machine that exists (one that runs `python -m ferry.task` the way modules/container's does) instead of creating the lane."
  type        = string
  default     = null

  validation {
    condition     = var.existing_container_state_machine_arn == null || can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.existing_container_state_machine_arn))
    error_message = "existing_container_state_machine_arn must be a Step Functions state machine ARN."
  }
  validation {
    condition     = !(var.create_container_lane && var.existing_container_state_machine_arn != null)
    error_message = "Set either create_container_lane or existing_container_state_machine_arn, not both."
  }
}

variable "delivery" {
  description = "How ObjectCreated events reach the queue: s3_notification (the raw bucket notifies the queue) or eventbridge. An existing raw bucket always uses eventbridge."
  type        = string
  default     = "s3_notification"
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Deletion protection of the DynamoDB tables (ledger, records, metadata)."
  type        = bool
  default     = true
  nullable    = false
}

# --- database ---------------------------------------------------------------------

variable "database" {
  description = "The RDS PostgreSQL instance modules/database creates for the CSV routes."
  type = object({
    engine_version              = optional(string, "16")
    instance_class              = optional(string, "db.t4g.medium")
    allocated_storage           = optional(number, 20)
    max_allocated_storage       = optional(number, 100)
    multi_az_enabled            = optional(bool, true)
    deletion_protection_enabled = optional(bool, true)
    backup_retention_period     = optional(number, 7)
  })
  default  = {}
  nullable = false
}

variable "existing_database" {
  description = "Bring your own PostgreSQL: no RDS instance is created; the processor connects to host:port/name with the credentials in secret_arn (a Secrets Manager secret shaped like RDS's: {\"username\", \"password\"}), with verify-full TLS."
  type = object({
    host       = string
    port       = optional(number, 5432)
    name       = string
    secret_arn = string
  })
  default = null
}

# --- audit ------------------------------------------------------------------------

variable "create_audit" {
  description = "Create modules/audit (CloudTrail, Macie, findings route). false when the account's audit is managed elsewhere altogether."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_trail" {
  description = "Create ferry's CloudTrail trail. false for an organisation trail that already records this account's management and S3 data events (modules/audit README)."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_macie" {
  description = "Create ferry's Macie account, service-linked role and classification job. false when Macie is managed by an organisation's delegated administrator (modules/audit README). When Macie is already enabled in the account but ferry runs its own job, keep this true and set macie.create_account = false (and macie.create_service_linked_role = false when the role exists)."
  type        = bool
  default     = true
  nullable    = false
}

variable "macie" {
  description = "Macie classification of the raw and failed buckets: schedule daily | weekly, the percentage of eligible objects each run samples, and whether to enable Macie for the account (create_account: false when it is already enabled, else the apply fails) and create its service-linked role (create_service_linked_role: false when AWSServiceRoleForAmazonMacie exists)."
  type = object({
    schedule                   = optional(string, "daily")
    sampling_percentage        = optional(number, 100)
    create_account             = optional(bool, true)
    create_service_linked_role = optional(bool, true)
  })
  default  = {}
  nullable = false
}

# --- retention and notifications -----------------------------------------------------

variable "log_retention_days" {
  description = "Retention of the operational log groups (function, VPC flow logs, database exports)."
  type        = number
  default     = 365
  nullable    = false
}

variable "audit_log_retention_days" {
  description = "Retention of the audit log groups (CloudTrail, Macie findings); at least 365."
  type        = number
  default     = 365
  nullable    = false
}

variable "trail_bucket_retention_days" {
  description = "Days CloudTrail log files are kept in the trail bucket."
  type        = number
  default     = 730
  nullable    = false
}

variable "notification_emails" {
  description = "Addresses subscribed to the pipeline's alarm topic (each must confirm)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "security_notification_emails" {
  description = "Addresses subscribed to the Macie findings topic (each must confirm)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "existing_sns_topic_arn" {
  description = "Bring your own topic: alarms and Macie findings go to this SNS topic; no topic is created. Its policy must let CloudWatch alarms and EventBridge publish, and its key (if any) admit them."
  type        = string
  default     = null

  validation {
    condition     = var.existing_sns_topic_arn == null ? true : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.existing_sns_topic_arn))
    error_message = "existing_sns_topic_arn must be an SNS topic ARN."
  }
}

# --- operations ---------------------------------------------------------------------

variable "events_enabled" {
  description = "Publish every file's terminal state (FileLoaded / FileRejected / FileDeadLettered) to an EventBridge bus: see modules/pipeline and docs/events.md."
  type        = bool
  default     = true
  nullable    = false
}

variable "existing_event_bus" {
  description = "An EventBridge bus that exists (name or ARN) for the file events; null creates <name_prefix>-files. Validated by modules/pipeline."
  type        = string
  default     = null
}

variable "file_notifications" {
  description = "SNS notifications from the file events, by kind (success, failure): e-mails to a topic the composition creates, or an existing topic. See modules/pipeline."
  type = map(object({
    emails                 = optional(list(string), [])
    existing_sns_topic_arn = optional(string)
  }))
  default  = {}
  nullable = false
}

variable "dashboard_enabled" {
  description = "Create the CloudWatch dashboard <name_prefix>-pipeline (with the RDS widgets when the composition creates the database)."
  type        = bool
  default     = true
  nullable    = false
}

variable "ferry_alarms" {
  description = "Thresholds of the alarms on ferry's own metrics (rejection rate, batch item failures): period_seconds, rejection_rate_percent, rejection_min_files, batch_item_failures. Validated by modules/pipeline."
  type = object({
    period_seconds         = optional(number, 300)
    rejection_rate_percent = optional(number, 25)
    rejection_min_files    = optional(number, 5)
    batch_item_failures    = optional(number, 10)
  })
  default  = {}
  nullable = false
}

variable "malware_protection" {
  description = "The malware gate (opt-in): GuardDuty Malware Protection for S3 on the raw bucket, files processed only after a NO_THREATS_FOUND result, others quarantined. Off on the emulator (GuardDuty scans in AWS only). See modules/pipeline."
  type = object({
    enabled     = optional(bool, false)
    tag_objects = optional(bool, true)
  })
  default  = {}
  nullable = false
}

# --- emulator -----------------------------------------------------------------------

variable "emulator" {
  description = <<-EOT
    Only for ferry's local stack (environments/local), which applies this
    composition to an AWS emulator (moto) with a local PostgreSQL. enabled = true
    switches off, in this one place, what the emulator cannot do:
    - the Lambda function and its event source mapping (moto runs no code
      without a container engine; a local poller calls the real handler);
    - the dead-letter queue's redrive-allow policy (moto does not store it and
      the provider waits for it until it times out);
    - CloudTrail StartLogging (moto answers HTTP 500) and the Macie
      classification job (moto has none);
    - the buckets' policies (moto applies conditional Denies unconditionally)
      and Object Lock (moto demands a checksum header CopyObject cannot send);
    - modules/database (RDS cannot run PostgreSQL on the emulator): database
      says where the local server listens, and a Secrets Manager secret shaped
      like RDS's holds its credentials, written by `make local`, never by
      Terraform, so the password stays out of state;
    - deletion protection and retained buckets (the stack is thrown away).
  EOT
  type = object({
    enabled = optional(bool, false)
    database = optional(object({
      host = optional(string, "localhost")
      port = number
      name = optional(string, "ferry")
    }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.emulator.enabled || var.emulator.database != null
    error_message = "emulator.database (the local PostgreSQL's host, port, name) is required when emulator.enabled."
  }
}
