# --- identity ------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name (queue `<name_prefix>-ingest`, function `<name_prefix>-processor`, tables `<name_prefix>-ledger|records|metadata`, ...): 3-32 lowercase letters, digits and hyphens, starting with a letter."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "account_id" {
  description = "AWS account id the pipeline is deployed into. Used in ARNs and in aws:SourceAccount conditions (taken as an input so that plans never call STS)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}

# --- inputs from the kms, storage and network modules -------------------------

# Key ARNs: arn:<partition>:kms:<region>:<account>:key/<id>, the id a UUID
# (single-Region key) or mrk-<32 hex digits> (multi-Region key). The region and
# partition of every ARN the module builds come from the operational key (see
# main.tf), so the other keys must be in the same partition and Region.

variable "storage_kms_key_arn" {
  description = "Customer-managed KMS key of the data buckets (the kms module's storage key): the function decrypts raw objects and encrypts results with it. Same Region as operational_kms_key_arn."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.storage_kms_key_arn)) && try(join(":", slice(split(":", var.storage_kms_key_arn), 1, 4)) == join(":", slice(split(":", var.operational_kms_key_arn), 1, 4)), false)
    error_message = "storage_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<uuid or mrk-id>; aliases are not accepted because IAM needs the key ARN) in the same partition and Region as operational_kms_key_arn."
  }
}

variable "raw_bucket_kms_key_arn" {
  description = "Key of the raw bucket's default encryption when it is not storage_kms_key_arn (an existing raw bucket with a key of its own): the function may only decrypt with it. null: the raw bucket uses the storage key (or SSE-S3)."
  type        = string
  default     = null

  validation {
    condition     = var.raw_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.raw_bucket_kms_key_arn))
    error_message = "raw_bucket_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<uuid or mrk-id>) or null."
  }
}

variable "operational_kms_key_arn" {
  description = "Customer-managed KMS key of the queues, tables, Lambda environment and the alarm topic the module creates (the kms module's operational key). Its Region is the Region the pipeline is deployed in. Its key policy must let the services use it (see README)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.operational_kms_key_arn))
    error_message = "operational_kms_key_arn must be a KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<uuid> or key/mrk-<32 hex digits> (aliases are not accepted: SQS, DynamoDB and IAM need the key ARN)."
  }
}

variable "logs_kms_key_arn" {
  description = "Customer-managed KMS key of the function's log group (the kms module's logs key); its policy must let logs.<region>.amazonaws.com use it. Same Region as operational_kms_key_arn."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.logs_kms_key_arn)) && try(join(":", slice(split(":", var.logs_kms_key_arn), 1, 4)) == join(":", slice(split(":", var.operational_kms_key_arn), 1, 4)), false)
    error_message = "logs_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<uuid or mrk-id>) in the same partition and Region as operational_kms_key_arn: CloudWatch Logs only uses keys of its own Region."
  }
}

variable "bucket_names" {
  description = "Names of the data buckets (the storage module's bucket_names output): raw (where files land and events start), processed and failed."
  type = object({
    raw       = string
    processed = string
    failed    = string
  })
  nullable = false

  validation {
    condition = alltrue([
      for b in values(var.bucket_names) :
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b))
    ])
    error_message = "bucket_names.raw, .processed and .failed must be valid S3 bucket names (3-63 lowercase letters, digits, dots and hyphens)."
  }
  validation {
    condition     = length(distinct(values(var.bucket_names))) == 3
    error_message = "bucket_names.raw, .processed and .failed must be three different buckets: writing results into the raw bucket would trigger the pipeline again."
  }
}

variable "subnet_ids" {
  description = "Private subnets the function runs in (the network module's private_subnet_ids). At least one; use two or more in different AZs for availability."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least one subnet id (subnet-xxxxxxxx): the function always runs inside the VPC."
  }
}

variable "security_group_ids" {
  description = "Security groups of the function's network interfaces (the network module's processor_security_group_id). At least one."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.security_group_ids) > 0 && alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "security_group_ids must hold at least one security group id (sg-xxxxxxxx)."
  }
}

# --- delivery -------------------------------------------------------------------

variable "delivery" {
  description = "How ObjectCreated events reach the queue. s3_notification: the raw bucket notifies the queue directly, one queue notification per routed prefix. eventbridge: the raw bucket sends events to EventBridge and a rule forwards Object Created events under the routed prefixes to the queue."
  type        = string
  default     = "s3_notification"
  nullable    = false

  validation {
    condition     = contains(["s3_notification", "eventbridge"], var.delivery)
    error_message = "delivery must be s3_notification or eventbridge."
  }
}

variable "processing_config" {
  description = "The processing configuration document the function runs with, as JSON text: pass file(path) of the same file `make build CONFIG=path` packs into the zip (default lambda_src/config/ferry.json). The S3 notification filters / EventBridge key pattern are derived from its route prefixes (every object under a routed prefix reaches the function; suffixes are matched there, case-insensitively), and its SHA-256 reaches the function as FERRY_CONFIG_SHA256 so a zip packed with another configuration refuses to run."
  type        = string
  nullable    = false

  validation {
    condition     = can(keys(jsondecode(var.processing_config)))
    error_message = "processing_config must be the processing configuration as JSON text holding one object, e.g. file(\"lambda_src/config/ferry.json\") (the file `make build CONFIG=...` packs); it is not valid JSON or not an object."
  }
  validation {
    condition     = try(!can(keys(jsondecode(var.processing_config).routes)) && length([for r in jsondecode(var.processing_config).routes : r]) > 0, false)
    error_message = "processing_config: \"routes\" must be a non-empty list of routes."
  }
  validation {
    # A string is whatever JSON-encodes with a leading quote (numbers and booleans would convert silently).
    condition = try(alltrue([
      for r in jsondecode(var.processing_config).routes :
      can(regex("^\".+\"$", jsonencode(r.name))) && startswith(jsonencode(try(r.prefix, "")), "\"") && startswith(jsonencode(try(r.suffix, "")), "\"")
    ]), false)
    error_message = "processing_config: every route must be an object with a non-empty string \"name\"; \"prefix\" and \"suffix\", when given, must be strings. ${try("Offending: routes[${join("], routes[", [for i, r in jsondecode(var.processing_config).routes : tostring(i) if !can(regex("^\".+\"$", jsonencode(r.name))) || !startswith(jsonencode(try(r.prefix, "")), "\"") || !startswith(jsonencode(try(r.suffix, "")), "\"")])}].", "")}"
  }
  validation {
    # S3 filter values take spaces as '+' and other characters percent-encoded, and no '*':
    # a prefix made of S3's safe characters means the same to S3, EventBridge and ferry.
    condition = try(alltrue([
      for r in jsondecode(var.processing_config).routes :
      can(regex("^[0-9A-Za-z!_.'()/-]*$", try(r.prefix, ""))) && length(try(r.prefix, "")) <= 1024 && !startswith(try(r.prefix, ""), "/") && length(try(r.suffix, "")) <= 1024
    ]), true)
    error_message = "processing_config: a route prefix must not start with '/' (S3 keys do not) and may hold at most 1024 of S3's safe key characters (letters, digits, / ! - _ . ' ( )), because S3 notification filters need any other character URL-encoded and reject '*'; a suffix may be at most 1024 characters. ${try("Offending: ${join(", ", [for i, r in jsondecode(var.processing_config).routes : "routes[${i}] ${jsonencode(try(r.name, null))}" if !(can(regex("^[0-9A-Za-z!_.'()/-]*$", try(r.prefix, ""))) && length(try(r.prefix, "")) <= 1024 && !startswith(try(r.prefix, ""), "/") && length(try(r.suffix, "")) <= 1024)])}.", "")}"
  }
  validation {
    condition     = try(length(distinct([for r in jsondecode(var.processing_config).routes : r.name])) == length(jsondecode(var.processing_config).routes), true)
    error_message = "processing_config: route names must be unique (each names the route in the ledger and in logs)."
  }
  validation {
    # First match wins: a later route whose prefix starts with an earlier route's prefix
    # and whose suffix ends with the earlier suffix (ignoring case) can never match.
    condition = try(alltrue(flatten([
      for j, b in jsondecode(var.processing_config).routes : [
        for i, a in jsondecode(var.processing_config).routes :
        !(startswith(try(b.prefix, ""), try(a.prefix, "")) && endswith(lower(try(b.suffix, "")), lower(try(a.suffix, ""))))
        if i < j
      ]
    ])), true)
    error_message = "processing_config: routes overlap, so a later one can never match (the first matching route wins): ${try(join("; ", flatten([for j, b in jsondecode(var.processing_config).routes : [for i, a in jsondecode(var.processing_config).routes : "routes[${j}] ${jsonencode(try(b.name, null))} is shadowed by routes[${i}] ${jsonencode(try(a.name, null))}" if i < j && try(startswith(try(b.prefix, ""), try(a.prefix, "")) && endswith(lower(try(b.suffix, "")), lower(try(a.suffix, ""))), false)]])), "")}. Move the narrower route first or change its prefix or suffix."
  }
}

variable "create_bucket_notification" {
  description = "Write the raw bucket's notification configuration. S3 keeps ONE notification configuration per bucket and this module's would replace the whole of it: set false for a raw bucket someone else owns. Then, with delivery s3_notification, the bucket's owner adds queue notifications to queue_arn for routed_prefixes; with delivery eventbridge, the owner turns on EventBridge notifications for the bucket and the module's rule matches its Object Created events."
  type        = bool
  default     = true
  nullable    = false
}

# --- queue ------------------------------------------------------------------------

variable "max_receive_count" {
  description = "Deliveries of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 20 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 20."
  }
}

variable "message_retention_seconds" {
  description = "How long the ingest queue keeps a message. SQS keeps the original enqueue time when it moves a message to the DLQ (14 days retention), so this stays at most 12 days to leave time to inspect dead letters."
  type        = number
  default     = 345600
  nullable    = false

  validation {
    condition     = var.message_retention_seconds >= 3600 && var.message_retention_seconds <= 1036800
    error_message = "message_retention_seconds must be between 3600 (1 hour) and 1036800 (12 days, shorter than the DLQ's 14 days)."
  }
}

# --- function ---------------------------------------------------------------------

variable "package_path" {
  description = "Path of the function's zip (what `make build` produces). Read at apply time only."
  type        = string
  nullable    = false

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must be the path of a .zip deployment package."
  }
}

variable "package_sha256" {
  description = "Base64-encoded SHA-256 of the zip (filebase64sha256(package_path)); a new hash deploys new code."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.package_sha256))
    error_message = "package_sha256 must be a base64-encoded SHA-256 (44 characters ending in '='), e.g. filebase64sha256(\"build/ferry.zip\")."
  }
}

variable "handler" {
  description = "Function entry point (module.function) inside the package."
  type        = string
  default     = "ferry.handler.handler"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must be a dotted Python path ending in the function name, e.g. ferry.handler.handler."
  }
}

variable "runtime" {
  description = "Python runtime. Only runtimes the processors are tested on and AWS supports."
  type        = string
  default     = "python3.12"
  nullable    = false

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the function; must match the wheels in the package (`make build ARCH=...`)."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Function memory in MB (CPU scales with it)."
  type        = number
  default     = 1024
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. The queue's visibility timeout is derived from it (6 x timeout, the AWS guidance for SQS event sources)."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) the function, so a burst of files cannot starve other functions or overload the database. -1 is the explicit opt-out: no reservation, the function shares the account's unreserved pool (needed in accounts whose concurrency quota is still 10). 0 is rejected (it would stop the function)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 1 && var.reserved_concurrent_executions <= 1000 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be a whole number between 1 and 1000, or -1 to opt out of reserving concurrency."
  }
}

variable "environment_variables" {
  description = "Extra environment variables for the function. Secrets never go here: a name containing password, secret, token, private_key or access_key (any case) is rejected unless it ends in _ARN or _NAME (a reference to Secrets Manager / SSM, e.g. API_SECRET_ARN), and values that look like AWS access keys or PEM keys are rejected. The FERRY_* names the module sets itself and names Lambda reserves (AWS_*, _HANDLER, ...) are rejected too, except AWS_LAMBDA_EXEC_WRAPPER (an absolute path), the wrapper script of an extension such as the OpenTelemetry / ADOT layer; other FERRY_* settings the processors read (FERRY_DB_SSLMODE, FERRY_DB_SSLROOTCERT, FERRY_METRICS_NAMESPACE, FERRY_LOG_LEVEL, FERRY_TRACING, FERRY_CONFIG_PATH) pass through."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k))])
    error_message = "environment_variables names must start with a letter and hold only letters, digits and underscores."
  }
  validation {
    condition = alltrue([
      for k in keys(var.environment_variables) :
      !can(regex("(?i)(password|passwd|secret|token|private_key|access_key|credential)", k)) || can(regex("(?i)_(ARN|NAME)$", k))
    ])
    error_message = "environment_variables must not carry secrets: a name containing password, secret, token, private_key, access_key or credential is only allowed as a reference ending in _ARN or _NAME (store the value in Secrets Manager and pass its ARN)."
  }
  validation {
    condition = alltrue([
      for v in values(var.environment_variables) :
      !can(regex("(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)", v)) && !can(regex("-----BEGIN [A-Z ]*PRIVATE KEY-----", v))
    ])
    error_message = "environment_variables values must not contain AWS access key ids or PEM private keys."
  }
  validation {
    condition = alltrue([
      for k in keys(var.environment_variables) :
      !contains([
        "FERRY_LEDGER_TABLE", "FERRY_RECORDS_TABLE", "FERRY_METADATA_TABLE", "FERRY_PROCESSED_BUCKET", "FERRY_FAILED_BUCKET",
        "FERRY_DB_SECRET_ARN", "FERRY_DB_HOST", "FERRY_DB_PORT", "FERRY_DB_NAME", "FERRY_LEDGER_TTL_DAYS", "FERRY_CONFIG_SHA256",
        "FERRY_DB_AUTH", "FERRY_DB_USER", "FERRY_DB_MASTER_SECRET_ARN", "FERRY_ROLE",
        "FERRY_EVENT_BUS", "FERRY_EVENT_SOURCE", "FERRY_MALWARE_GATE",
      ], upper(k)) &&
      (!startswith(upper(k), "AWS_") || k == "AWS_LAMBDA_EXEC_WRAPPER") &&
      !startswith(k, "_") && !contains(["LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ"], upper(k))
    ])
    error_message = "environment_variables must not set the FERRY_* names this module derives from its inputs (tables, buckets, database, ledger TTL, configuration hash) or names Lambda reserves (AWS_* other than AWS_LAMBDA_EXEC_WRAPPER, _*, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, TZ). Other FERRY_* settings (FERRY_DB_SSLMODE, FERRY_METRICS_NAMESPACE, ...) are allowed."
  }
  validation {
    condition     = can(regex("^/[^\\s]+$", lookup(var.environment_variables, "AWS_LAMBDA_EXEC_WRAPPER", "/unset")))
    error_message = "environment_variables.AWS_LAMBDA_EXEC_WRAPPER must be the absolute path of the wrapper script (e.g. /opt/otel-instrument from a layer), without spaces."
  }
}

variable "layers" {
  description = "Lambda layer version ARNs attached to the function, in order (at most 5, Lambda's limit), e.g. the OpenTelemetry / ADOT layer together with environment_variables.AWS_LAMBDA_EXEC_WRAPPER. Layers are code run inside the function with its role: add only layers you trust and pin their versions. A layer in another account must grant lambda:GetLayerVersion to this account."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.layers) <= 5 && length(distinct(var.layers)) == length(var.layers)
    error_message = "layers may hold at most 5 layer versions (Lambda's limit), each once."
  }
  validation {
    condition     = alltrue([for l in var.layers : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]{1,140}:[0-9]+$", l))])
    error_message = "layers must be layer version ARNs ending in the version number (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>): an unversioned layer ARN is not accepted."
  }
  validation {
    condition     = alltrue([for l in var.layers : try(split(":", l)[1] == split(":", var.operational_kms_key_arn)[1] && split(":", l)[3] == split(":", var.operational_kms_key_arn)[3], true)])
    error_message = "layers must be in the function's partition and Region (the Region of operational_kms_key_arn): Lambda only attaches layers of its own Region."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (one of the values CloudWatch Logs accepts). The default keeps a year, the usual audit minimum."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the CloudWatch Logs values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (0, never expire, is not offered)."
  }
}

variable "create_migration" {
  description = "Create the migration function (ferry.migrate_handler, in the VPC) and invoke it from the apply whenever the processing configuration changes: true when database.master_secret_arn names the RDS-managed master secret (said here because that ARN is unknown until the database exists). Only with create_function and a csv_postgres route."
  type        = bool
  default     = false
  nullable    = false
}

variable "deadletter_timeout" {
  description = "Timeout (s) of the dead-letter consumer; the dead-letter queue's visibility timeout is 6 x this."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.deadletter_timeout >= 5 && var.deadletter_timeout <= 300 && floor(var.deadletter_timeout) == var.deadletter_timeout
    error_message = "deadletter_timeout must be a whole number of seconds between 5 and 300."
  }
}

variable "log_level" {
  description = "Application log level Lambda passes to the function (JSON logs)."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "code_signing" {
  description = "Opt-in Lambda code signing: AWS Signer profile version ARNs allowed to sign the package. Empty (the default) deploys unsigned zips, as `make build` produces them. With profiles set, a code signing config is created and attached; untrusted_artifact_on_deployment Enforce blocks unsigned or wrongly signed code."
  type = object({
    signing_profile_version_arns     = optional(list(string), [])
    untrusted_artifact_on_deployment = optional(string, "Enforce")
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for a in var.code_signing.signing_profile_version_arns : can(regex("^arn:aws[a-z-]*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[A-Za-z0-9_]+/[A-Za-z0-9]+$", a))])
    error_message = "code_signing.signing_profile_version_arns must be AWS Signer profile version ARNs (arn:<partition>:signer:<region>:<account>:/signing-profiles/<name>/<version>)."
  }
  validation {
    condition     = length(var.code_signing.signing_profile_version_arns) <= 20
    error_message = "code_signing.signing_profile_version_arns may hold at most 20 profiles."
  }
  validation {
    condition     = contains(["Enforce", "Warn"], var.code_signing.untrusted_artifact_on_deployment)
    error_message = "code_signing.untrusted_artifact_on_deployment must be Enforce or Warn."
  }
}

variable "role_permissions_boundary_arn" {
  description = "Permissions boundary for the function's role (empty: none). Many organisations require one on every role."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.role_permissions_boundary_arn == "" || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary_arn))
    error_message = "role_permissions_boundary_arn must be empty or an IAM policy ARN."
  }
}

# --- event source mapping ---------------------------------------------------------------

variable "batch_size" {
  description = "Messages per invocation. Above 10, SQS requires a batching window of at least 1 second."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000."
  }
  validation {
    condition     = var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1
    error_message = "batch_size above 10 needs maximum_batching_window_in_seconds of at least 1 (an SQS event source rule)."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds Lambda waits to fill a batch (0: invoke as soon as messages arrive)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the SQS event source drives. Keep it at or below reserved_concurrent_executions, or the surplus pollers are throttled and messages age towards the DLQ."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "maximum_concurrency must be a whole number between 2 and 1000."
  }
  validation {
    condition     = var.reserved_concurrent_executions == -1 || var.maximum_concurrency <= var.reserved_concurrent_executions
    error_message = "maximum_concurrency must not exceed reserved_concurrent_executions: the extra invocations would be throttled and their messages pushed towards the DLQ."
  }
}

# --- data -------------------------------------------------------------------------

variable "deletion_protection_enabled" {
  description = "DynamoDB deletion protection on the ledger, records and metadata tables. Turn off only for throwaway environments."
  type        = bool
  default     = true
  nullable    = false
}

variable "ledger_status_index" {
  description = "A global secondary index `status-time` on the ledger (status and day, then time) so `ferry ls` and `ferry summary` Query instead of Scan. Adding or removing it updates the table in place; without it those commands cannot run."
  type        = bool
  default     = true
  nullable    = false
}

variable "ledger_ttl_days" {
  description = "Days a ledger record is kept before DynamoDB TTL removes it (passed to the function as FERRY_LEDGER_TTL_DAYS). It must outlast every possible redelivery, so at least 15 days (the DLQ keeps messages 14 days)."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.ledger_ttl_days >= 15 && var.ledger_ttl_days <= 3650 && floor(var.ledger_ttl_days) == var.ledger_ttl_days
    error_message = "ledger_ttl_days must be a whole number between 15 (longer than the DLQ's 14 days, so a redriven message still finds its ledger record) and 3650."
  }
}

variable "delete_raw_after_processing" {
  description = "Allow the function to delete raw objects once they are processed (adds s3:DeleteObject on the raw bucket). Off by default: the raw bucket's lifecycle rules expire objects."
  type        = bool
  default     = false
  nullable    = false
}

variable "database" {
  description = "PostgreSQL the CSV processor loads into (the database module's outputs). Empty host: no database settings are passed. iam_auth_user + resource_id: IAM database authentication (FERRY_DB_AUTH=iam; rds-db:connect for that user only; the processor cannot read any secret). secret_arn: otherwise, a Secrets Manager secret with the credentials the processor reads (FERRY_DB_AUTH=secret; an existing database, the local stack). master_secret_arn: the RDS-managed master secret; with a csv_postgres route and the functions created, a migration function in the VPC reads it, creates the dataset tables and the loader role, and the apply invokes it whenever the processing configuration changes. enabled: whether the function gets the database settings (and, without iam_auth_user, reads secret_arn); null (the default) decides by whether host and secret_arn are empty. Set true when host or secret_arn is known only after apply (a database or secret created in the same apply): the function's variable names and the role's statements are then known at plan time, for review."
  type = object({
    host              = optional(string, "")
    port              = optional(number, 5432)
    name              = optional(string, "")
    secret_arn        = optional(string, "")
    iam_auth_user     = optional(string, "")
    resource_id       = optional(string, "")
    master_secret_arn = optional(string, "")
    enabled           = optional(bool)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.database.port >= 1 && var.database.port <= 65535 && floor(var.database.port) == var.database.port
    error_message = "database.port must be a TCP port (1-65535)."
  }
  validation {
    condition     = var.database.secret_arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$", var.database.secret_arn))
    error_message = "database.secret_arn must be empty or a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)."
  }
  validation {
    condition     = var.database.master_secret_arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$", var.database.master_secret_arn))
    error_message = "database.master_secret_arn must be empty or a Secrets Manager secret ARN."
  }
  validation {
    condition     = (var.database.iam_auth_user == "") == (var.database.resource_id == "")
    error_message = "database.iam_auth_user and database.resource_id go together: IAM authentication needs both the database user and the instance/cluster resource id."
  }
  validation {
    condition     = var.database.resource_id == "" || can(regex("^(db|cluster)-[A-Z0-9]+$", var.database.resource_id))
    error_message = "database.resource_id must be the DbiResourceId (starting with db-) or the cluster resource id (starting with cluster-), not the instance name."
  }
  validation {
    condition     = var.database.iam_auth_user == "" || can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database.iam_auth_user))
    error_message = "database.iam_auth_user must be a PostgreSQL user name (lowercase letters, digits, underscores; at most 63 characters)."
  }
  validation {
    condition     = var.database.host != "" || (var.database.secret_arn == "" && var.database.iam_auth_user == "" && var.database.name == "")
    error_message = "database.host is required when database.name, secret_arn or iam_auth_user is set."
  }
  validation {
    condition     = var.database.enabled != true || var.database.iam_auth_user != "" || var.database.secret_arn != ""
    error_message = "database.enabled = true needs iam_auth_user (IAM database authentication) or secret_arn (the credentials the function reads)."
  }
  validation {
    condition     = var.database.enabled != false || (var.database.secret_arn == "" && var.database.iam_auth_user == "")
    error_message = "database.enabled = false passes no database settings: leave secret_arn and iam_auth_user empty."
  }
}

# --- alarms -------------------------------------------------------------------------

variable "queue_age_alarm_seconds" {
  description = "Alarm when the oldest message in the ingest queue is older than this many seconds (files waiting too long)."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.queue_age_alarm_seconds >= 60 && var.queue_age_alarm_seconds <= 1036800
    error_message = "queue_age_alarm_seconds must be between 60 and 1036800 (the most a message can stay in the ingest queue)."
  }
}

variable "notification_emails" {
  description = "Email addresses subscribed to the alarm topic the module creates (each must confirm its subscription). Not with existing_sns_topic_arn: subscribe addresses to that topic where it is managed."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails must be email addresses."
  }
  validation {
    condition     = var.existing_sns_topic_arn == null || length(var.notification_emails) == 0
    error_message = "notification_emails subscribe addresses to the topic this module creates; with existing_sns_topic_arn the module creates no topic and no subscriptions: subscribe the addresses to that topic where it is managed."
  }
}

variable "existing_sns_topic_arn" {
  description = "A standard SNS topic that exists, for the alarms: the module then creates no topic, no topic policy and no subscriptions. Its policy must let cloudwatch.amazonaws.com publish, and its KMS key (if any) must let CloudWatch use it. null (the default): the module creates <name_prefix>-alarms, encrypted with the operational key."
  type        = string
  default     = null

  validation {
    condition     = var.existing_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.existing_sns_topic_arn))
    error_message = "existing_sns_topic_arn must be null or the ARN of a standard SNS topic (arn:<partition>:sns:<region>:<account>:<name>); CloudWatch alarms cannot notify FIFO topics."
  }
}

# --- feature flags (emulators) ----------------------------------------------------

variable "create_function" {
  description = "Create the Lambda function, its role, log group and function alarms. Set false on an emulator that cannot run Lambda code (moto without Docker): queues, tables, delivery and queue alarms are still created, and a local poller runs the handler."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_event_source_mapping" {
  description = "Connect the queue to the function. Set false when something else consumes the queue (the local stack's poller). Has no effect when create_function is false."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms (and, without existing_sns_topic_arn, the alarm topic)."
  type        = bool
  default     = true
  nullable    = false
}

variable "dlq_redrive_allow_policy" {
  description = "Set the DLQ's redrive allow policy (only the ingest queue may use it as its dead-letter queue). Switch off only for an emulator that does not store RedriveAllowPolicy (moto 5.2): the provider would wait for the attribute until it times out."
  type        = bool
  default     = true
  nullable    = false
}

# --- file events, dashboard, ferry alarms, malware gate ---------------------------

variable "events_enabled" {
  description = "Publish every file's terminal state to an EventBridge bus as FileLoaded / FileRejected / FileDeadLettered (source ferry.<name_prefix>; schema in docs/events.md), from the processor and the dead-letter consumer. The functions get events:PutEvents on that bus only, for that source only."
  type        = bool
  default     = true
  nullable    = false
}

variable "existing_event_bus" {
  description = "An EventBridge bus that exists, by name (this account and Region) or ARN (e.g. a central bus in another account, whose resource policy must let the functions' roles put events): the module then creates no bus. null (the default): the module creates <name_prefix>-files. The default bus (\"default\") is accepted."
  type        = string
  default     = null

  validation {
    condition     = var.existing_event_bus == null || can(regex("^([A-Za-z0-9._-]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]{1,256})$", var.existing_event_bus))
    error_message = "existing_event_bus must be null, a bus name (letters, digits, . _ -) or an event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>); a partner event source bus name (aws.partner/...) is not a place to publish to."
  }
}

variable "file_notifications" {
  description = "SNS notifications subscribed from the file events, by kind: success (FileLoaded) and failure (FileRejected, FileDeadLettered). For each kind given, an EventBridge rule on the bus sends the events to an SNS topic: one the module creates (<name_prefix>-files-<kind>, encrypted with the operational key, its policy admitting only that rule) with e-mail subscriptions, or existing_sns_topic_arn (its policy and key must admit the rule: output file_notification_rule_arns). Needs events_enabled."
  type = map(object({
    emails                 = optional(list(string), [])
    existing_sns_topic_arn = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k in keys(var.file_notifications) : contains(["success", "failure"], k)])
    error_message = "file_notifications keys must be success and/or failure."
  }
  validation {
    condition     = alltrue(flatten([for n in values(var.file_notifications) : [for e in n.emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))]]))
    error_message = "file_notifications emails must be email addresses."
  }
  validation {
    condition     = alltrue([for n in values(var.file_notifications) : n.existing_sns_topic_arn == null || length(n.emails) == 0])
    error_message = "file_notifications: emails subscribe to the topic the module creates; with existing_sns_topic_arn subscribe them where that topic is managed."
  }
  validation {
    condition     = alltrue([for n in values(var.file_notifications) : n.existing_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", n.existing_sns_topic_arn))])
    error_message = "file_notifications existing_sns_topic_arn must be the ARN of a standard SNS topic."
  }
  validation {
    condition     = var.events_enabled || length(var.file_notifications) == 0
    error_message = "file_notifications are subscribed from the file events: set events_enabled = true."
  }
}

variable "dashboard_enabled" {
  description = "Create the CloudWatch dashboard <name_prefix>-pipeline: throughput, rejects by route, batch item failures, age of the oldest message, DLQ depth, function errors, throttles and duration, and (with dashboard_database_instance_id) RDS connections, CPU and free storage."
  type        = bool
  default     = true
  nullable    = false
}

variable "dashboard_database_instance_id" {
  description = "DB instance identifier whose RDS metrics the dashboard shows (the database module's instance_id). Empty: no RDS widgets."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.dashboard_database_instance_id == "" || can(regex("^[a-z][a-z0-9-]{0,62}$", var.dashboard_database_instance_id))
    error_message = "dashboard_database_instance_id must be empty or a DB instance identifier (lower-case letters, digits and hyphens, starting with a letter)."
  }
}

variable "ferry_alarms" {
  description = "Alarms on ferry's own metrics (EMF from the processor; with create_alarms, to the alarm topic): rejection rate (Rejects / Files in percent over period_seconds, once at least rejection_min_files files were processed in it), batch item failures (messages handed back for a retry in period_seconds) and file events EventBridge refused. The age of the oldest message is alarmed on the queue's own metric (queue_age_alarm_seconds)."
  type = object({
    period_seconds         = optional(number, 300)
    rejection_rate_percent = optional(number, 25)
    rejection_min_files    = optional(number, 5)
    batch_item_failures    = optional(number, 10)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([60, 300, 900, 3600], var.ferry_alarms.period_seconds)
    error_message = "ferry_alarms.period_seconds must be 60, 300, 900 or 3600."
  }
  validation {
    condition     = var.ferry_alarms.rejection_rate_percent > 0 && var.ferry_alarms.rejection_rate_percent <= 100
    error_message = "ferry_alarms.rejection_rate_percent must be above 0 and at most 100."
  }
  validation {
    condition     = var.ferry_alarms.rejection_min_files >= 1 && floor(var.ferry_alarms.rejection_min_files) == var.ferry_alarms.rejection_min_files
    error_message = "ferry_alarms.rejection_min_files must be a whole number of at least 1."
  }
  validation {
    condition     = var.ferry_alarms.batch_item_failures >= 0 && floor(var.ferry_alarms.batch_item_failures) == var.ferry_alarms.batch_item_failures
    error_message = "ferry_alarms.batch_item_failures must be a whole number of at least 0 (0: alarm on any retry)."
  }
}

variable "malware_protection" {
  description = "The malware gate (opt-in): GuardDuty Malware Protection for S3 scans every new object in the raw bucket (aws_guardduty_malware_protection_plan, with its own IAM role), and the ingest queue receives GuardDuty's scan-result events instead of Object Created ones, so a file is processed only after a NO_THREATS_FOUND result; any other result quarantines it in the failed bucket (quarantine/<key>, with the reason) unread, the ledger says rejected by malware_gate. tag_objects: GuardDuty also tags each object with GuardDutyMalwareScanStatus. GuardDuty charges per GB scanned and per object."
  type = object({
    enabled     = optional(bool, false)
    tag_objects = optional(bool, true)
  })
  default  = {}
  nullable = false
}

variable "container_lane" {
  description = "The large-file lane (modules/container): the processor hands objects of a route's container lane to this state machine (states:StartExecution) with a ledger claim of lease_seconds (modules/container's execution_seconds). \"\": no container lane."
  type = object({
    state_machine_arn = optional(string, "")
    lease_seconds     = optional(number, 10800)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.container_lane.state_machine_arn == "" || can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", var.container_lane.state_machine_arn))
    error_message = "container_lane.state_machine_arn must be a Step Functions state machine ARN or \"\"."
  }
  validation {
    condition     = var.container_lane.lease_seconds >= 60
    error_message = "container_lane.lease_seconds must be at least 60."
  }
}
