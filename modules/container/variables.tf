# --- the vocabulary every module shares (modules/README.md) ---------------------------

variable "name_prefix" {
  description = "Prefix for every name this module creates (<name_prefix>-<what>). 3-32 characters: lower-case letters, digits and hyphens, starting with a letter."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "account_id" {
  description = "AWS account id (12 digits): the account in the roles' trust conditions and the resources' ARNs. Taken as an input so plans work without calling AWS."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource, merged over the provider's default_tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "storage_kms_key_arn" {
  description = "Customer-managed key of the raw, processed and failed buckets: the task reads and writes objects through S3 with it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$", var.storage_kms_key_arn))
    error_message = "storage_kms_key_arn must be a customer-managed KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "operational_kms_key_arn" {
  description = "Customer-managed key of the ledger and record tables, the start retry queue and the database secret."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$", var.operational_kms_key_arn))
    error_message = "operational_kms_key_arn must be a customer-managed KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "logs_kms_key_arn" {
  description = "Customer-managed key of the task's and the state machine's log groups."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a customer-managed KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in (no public IP is ever assigned: they reach AWS through NAT or VPC endpoints)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must list at least one subnet id (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the tasks (the processor's: egress to the database and the endpoints)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "security_group_ids must list at least one security group id (sg-...)."
  }
}

variable "log_retention_days" {
  description = "Retention of the task's and the state machine's log groups, a CloudWatch Logs retention value."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "role_permissions_boundary_arn" {
  description = "Permissions boundary set on every role this module creates (\"\": none)."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.role_permissions_boundary_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.role_permissions_boundary_arn))
    error_message = "role_permissions_boundary_arn must be an IAM policy ARN or \"\"."
  }
}

# --- what the task works on -------------------------------------------------------------

variable "bucket_names" {
  description = "The raw, processed and failed buckets (storage's bucket_names)."
  type = object({
    raw       = string
    processed = string
    failed    = string
  })
  nullable = false
}

variable "table_names" {
  description = "The ledger, records and metadata tables (pipeline's table_names)."
  type = object({
    ledger   = string
    records  = string
    metadata = string
  })
  nullable = false
}

variable "environment_variables" {
  description = "The container's environment: the processor function's FERRY_* variables (pipeline's function_environment). Secrets never go here: see secrets."
  type        = map(string)
  default     = {}
  nullable    = false

  # The names FERRY-LAMBDA-004 treats as secrets, unless they name a reference (an ARN, a parameter name, ...).
  validation {
    condition = !anytrue([
      for k in keys(var.environment_variables) :
      can(regex("(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)", upper(k))) &&
      !can(regex("_(ARN|NAME|ID|PARAM|PARAMETER|PATH|URL|REF|TTL|SECONDS|FILE)$", upper(k)))
    ])
    error_message = "environment_variables must hold no password, secret, token or key (a name such as *PASSWORD*, *SECRET*, *TOKEN*; references such as *_ARN or *_NAME are fine): pass the value in secrets, which ECS injects from Secrets Manager."
  }
  validation {
    condition     = !anytrue([for k in keys(var.environment_variables) : startswith(k, "FERRY_TASK_")])
    error_message = "FERRY_TASK_* variables are set per execution by the state machine, not by environment_variables."
  }
}

variable "secrets" {
  description = "Environment variables ECS sets from Secrets Manager when the task starts (name => secret ARN, optionally with a JSON key: <arn>:<key>::). The execution role reads them; the task role cannot. The database secret goes in FERRY_DB_SECRET (its whole JSON)."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for v in values(var.secrets) : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(:[^:]*:[^:]*:[^:]*)?$", v))])
    error_message = "every value of secrets must be a Secrets Manager secret ARN, optionally followed by :<json-key>:<version-stage>:<version-id>."
  }
}

variable "database" {
  description = "IAM database authentication for the task role (rds-db:connect as iam_auth_user on the instance resource_id); empty strings: none (a secret in secrets instead)."
  type = object({
    iam_auth_user = optional(string, "")
    resource_id   = optional(string, "")
  })
  default  = {}
  nullable = false

  validation {
    condition     = (var.database.iam_auth_user == "") == (var.database.resource_id == "")
    error_message = "database.iam_auth_user and database.resource_id go together: set both or neither."
  }
}

variable "delete_raw_objects" {
  description = "Let the task delete raw object versions (the configuration's delete_raw is on_loaded or always)."
  type        = bool
  default     = false
  nullable    = false
}

# --- the task -------------------------------------------------------------------------

variable "image" {
  description = "The container image, pinned by digest: <registry>/<repository>@sha256:<64 hex>. A tag can move under a running deployment and is refused."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._:/-]*@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be pinned by digest (<repository>@sha256:<64 lower-case hex digits>); tags such as :latest or :1.2 are refused."
  }
}

variable "cpu" {
  description = "Task CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384)."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate CPU value: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory (MiB), one of the values Fargate allows for the chosen cpu (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)."
  type        = number
  default     = 2048
  nullable    = false

  validation {
    condition = (
      var.cpu == 256 ? contains([512, 1024, 2048], var.memory) :
      var.cpu == 512 ? var.memory >= 1024 && var.memory <= 4096 && var.memory % 1024 == 0 :
      var.cpu == 1024 ? var.memory >= 2048 && var.memory <= 8192 && var.memory % 1024 == 0 :
      var.cpu == 2048 ? var.memory >= 4096 && var.memory <= 16384 && var.memory % 1024 == 0 :
      var.cpu == 4096 ? var.memory >= 8192 && var.memory <= 30720 && var.memory % 1024 == 0 :
      var.cpu == 8192 ? var.memory >= 16384 && var.memory <= 61440 && var.memory % 4096 == 0 :
      var.cpu == 16384 ? var.memory >= 32768 && var.memory <= 122880 && var.memory % 8192 == 0 :
      false
    )
    error_message = "memory is not a Fargate combination with cpu: 256 -> 512, 1024 or 2048; 512 -> 1024-4096; 1024 -> 2048-8192; 2048 -> 4096-16384; 4096 -> 8192-30720 (steps of 1024); 8192 -> 16384-61440 (steps of 4096); 16384 -> 32768-122880 (steps of 8192)."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64."
  type        = string
  default     = "X86_64"
  nullable    = false

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "ephemeral_storage_gib" {
  description = "Fargate ephemeral storage (GiB, 21-200); the writable /tmp volume lives on it (the root filesystem is read-only)."
  type        = number
  default     = 21
  nullable    = false

  validation {
    condition     = var.ephemeral_storage_gib >= 21 && var.ephemeral_storage_gib <= 200 && floor(var.ephemeral_storage_gib) == var.ephemeral_storage_gib
    error_message = "ephemeral_storage_gib must be a whole number between 21 and 200."
  }
}

variable "user" {
  description = "User (uid[:gid]) the container runs as; never root."
  type        = string
  default     = "10001:10001"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]+(:[0-9]+)?$", var.user)) && !contains(["0", "root"], split(":", var.user)[0])
    error_message = "user must be a numeric uid or uid:gid other than 0 (root)."
  }
}

variable "task_timeout_seconds" {
  description = "How long one task may run before the state machine stops it and retries (60-86400)."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.task_timeout_seconds >= 60 && var.task_timeout_seconds <= 86400
    error_message = "task_timeout_seconds must be between 60 and 86400."
  }
}

variable "task_max_attempts" {
  description = "Retries of a task that failed transiently (a non-zero exit, a stopped task, ECS capacity or throttling), 0-10; then the failure state records the reason in the ledger."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.task_max_attempts >= 0 && var.task_max_attempts <= 10 && floor(var.task_max_attempts) == var.task_max_attempts
    error_message = "task_max_attempts must be a whole number between 0 and 10."
  }
}

variable "retry_interval_seconds" {
  description = "First wait before a retried task (doubles each retry, with full jitter), 1-3600."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.retry_interval_seconds >= 1 && var.retry_interval_seconds <= 3600
    error_message = "retry_interval_seconds must be between 1 and 3600."
  }
}

# --- the state machine and its start ------------------------------------------------

variable "execution_log_level" {
  description = "Step Functions execution log level: ALL, ERROR or FATAL (OFF is refused: executions must be logged)."
  type        = string
  default     = "ALL"
  nullable    = false

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.execution_log_level)
    error_message = "execution_log_level must be ALL, ERROR or FATAL."
  }
}

variable "log_execution_data" {
  description = "Include execution input, output and error causes in the execution log (bucket, key, version and the task's stop reason; the log group is KMS-encrypted). false keeps object keys out of the log."
  type        = bool
  default     = true
  nullable    = false
}

variable "eventbridge_start" {
  description = "Start executions straight from EventBridge (S3 Object Created events of the raw bucket under prefixes, larger than min_size_bytes) instead of from the function's hand-off; failed starts are retried by EventBridge (maximum_retry_attempts, maximum_event_age_seconds) and then kept in an encrypted retry queue. The raw bucket must send events to EventBridge (pipeline delivery = \"eventbridge\")."
  type = object({
    enabled                   = optional(bool, false)
    prefixes                  = optional(list(string), [])
    min_size_bytes            = optional(number, 0)
    maximum_retry_attempts    = optional(number, 185)
    maximum_event_age_seconds = optional(number, 86400)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.eventbridge_start.enabled || length(var.eventbridge_start.prefixes) > 0
    error_message = "eventbridge_start.prefixes must name at least one key prefix when eventbridge_start.enabled is true."
  }
  validation {
    condition     = var.eventbridge_start.min_size_bytes >= 0
    error_message = "eventbridge_start.min_size_bytes must be 0 or more."
  }
  validation {
    condition     = var.eventbridge_start.maximum_retry_attempts >= 0 && var.eventbridge_start.maximum_retry_attempts <= 185
    error_message = "eventbridge_start.maximum_retry_attempts must be between 0 and 185."
  }
  validation {
    condition     = var.eventbridge_start.maximum_event_age_seconds >= 60 && var.eventbridge_start.maximum_event_age_seconds <= 86400
    error_message = "eventbridge_start.maximum_event_age_seconds must be between 60 and 86400."
  }
}

variable "create_cluster" {
  description = "Create the ECS cluster; false runs the tasks in existing_cluster_arn."
  type        = bool
  default     = true
  nullable    = false
}

variable "existing_cluster_arn" {
  description = "An ECS cluster to run the tasks in when create_cluster is false."
  type        = string
  default     = null

  validation {
    condition     = var.existing_cluster_arn == null || can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", var.existing_cluster_arn))
    error_message = "existing_cluster_arn must be an ECS cluster ARN."
  }
  validation {
    condition     = var.create_cluster == (var.existing_cluster_arn == null)
    error_message = "Set existing_cluster_arn exactly when create_cluster is false."
  }
}
