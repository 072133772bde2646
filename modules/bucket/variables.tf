variable "bucket_name" {
  description = "Name of the bucket. A whole name rather than a name_prefix: each caller owns its naming rule (storage: <name_prefix>-<role>-<suffix>, audit: <name_prefix>-trail-<account_id>). Lower-case letters, digits and single hyphens, 3-63 characters; no dots (they break TLS for virtual-hosted requests)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "--") && !endswith(var.bucket_name, "-s3alias")
    error_message = "bucket_name must be 3-63 lower-case letters, digits and single hyphens, start and end with a letter or digit, and not end in -s3alias."
  }
}

variable "kind" {
  description = <<-EOT
    What the bucket is for. "standard" (default): SSE-KMS with kms_key_arn,
    and a policy that refuses uploads asking for another encryption type or
    key. "access-logs": the target of S3 server access logs. S3 delivers
    server access logs only into a bucket whose default encryption is SSE-S3,
    so this kind uses SSE-S3 (AES256), takes no kms_key_arn, cannot log into
    itself, cannot carry an Object Lock default retention, and needs a
    policy_documents entry that admits logging.s3.amazonaws.com.
  EOT
  type        = string
  default     = "standard"
  nullable    = false

  validation {
    condition     = contains(["standard", "access-logs"], var.kind)
    error_message = "kind must be \"standard\" or \"access-logs\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key (single- or multi-Region) the bucket is encrypted with by default; uploads asking for any other key are refused. Required for kind = \"standard\", null for kind = \"access-logs\"."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<uuid> or key/mrk-<32 hex>; aliases and key ids are not accepted because the bucket policy compares the exact ARN."
  }
  validation {
    condition     = (var.kind == "standard") == (var.kms_key_arn != null)
    error_message = "kind = \"standard\" needs kms_key_arn; kind = \"access-logs\" takes none (S3 delivers access logs only into SSE-S3 buckets)."
  }
}

variable "bucket_key_enabled" {
  description = "Use an S3 Bucket Key for SSE-KMS (fewer KMS calls). Off for a CloudTrail bucket: with a bucket key S3 asks KMS with the bucket's encryption context instead of the trail's, which a key policy scoped to the trail refuses."
  type        = bool
  default     = true
  nullable    = false
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with all object versions. Off by default: a destroy never deletes data unless asked for (disposable environments only)."
  type        = bool
  default     = false
  nullable    = false
}

variable "object_lock" {
  description = "Object Lock default retention: mode OFF, GOVERNANCE or COMPLIANCE, and retention_days. Fixed when the bucket is created: switching between OFF and a mode replaces the bucket. COMPLIANCE also needs allow_compliance_object_lock = true."
  type = object({
    mode           = optional(string, "OFF")
    retention_days = optional(number, 7)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["OFF", "GOVERNANCE", "COMPLIANCE"], var.object_lock.mode)
    error_message = "object_lock.mode must be OFF, GOVERNANCE or COMPLIANCE."
  }
  validation {
    condition     = var.object_lock.retention_days >= 1 && var.object_lock.retention_days <= 3650 && floor(var.object_lock.retention_days) == var.object_lock.retention_days
    error_message = "object_lock.retention_days must be a whole number between 1 and 3650."
  }
  validation {
    condition     = var.object_lock.mode != "COMPLIANCE" || var.allow_compliance_object_lock
    error_message = "object_lock.mode = COMPLIANCE makes objects undeletable, even by the account root, until retention ends; set allow_compliance_object_lock = true to confirm."
  }
  validation {
    condition     = var.kind != "access-logs" || var.object_lock.mode == "OFF"
    error_message = "an access-logs bucket cannot have an Object Lock default retention: S3 does not deliver server access logs into such a bucket."
  }
}

variable "allow_compliance_object_lock" {
  description = "Confirms that object_lock.mode = COMPLIANCE is intended. Without it COMPLIANCE is rejected."
  type        = bool
  default     = false
  nullable    = false
}

variable "lifecycle_rule" {
  description = "current_expiration_days: days until the current version expires (0 keeps it); noncurrent_expiration_days: days a replaced or deleted version is kept; abort_incomplete_multipart_days: days until unfinished multipart uploads are removed. Expired delete markers are always removed. Object Lock retention wins over expiry."
  type = object({
    current_expiration_days         = optional(number, 0)
    noncurrent_expiration_days      = optional(number, 30)
    abort_incomplete_multipart_days = optional(number, 7)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.lifecycle_rule.current_expiration_days == 0 || (var.lifecycle_rule.current_expiration_days >= 1 && var.lifecycle_rule.current_expiration_days <= 36500)
    error_message = "lifecycle_rule.current_expiration_days must be 0 (keep) or between 1 and 36500."
  }
  validation {
    condition     = var.lifecycle_rule.noncurrent_expiration_days >= 1 && var.lifecycle_rule.noncurrent_expiration_days <= 36500
    error_message = "lifecycle_rule.noncurrent_expiration_days must be between 1 and 36500: a versioned bucket must not keep old versions forever."
  }
  validation {
    condition     = var.lifecycle_rule.abort_incomplete_multipart_days >= 1 && var.lifecycle_rule.abort_incomplete_multipart_days <= 365
    error_message = "lifecycle_rule.abort_incomplete_multipart_days must be between 1 and 365."
  }
  validation {
    condition     = alltrue([for v in values(var.lifecycle_rule) : floor(v) == v])
    error_message = "lifecycle_rule day counts must be whole numbers."
  }
}

variable "access_logging_enabled" {
  description = "Deliver this bucket's server access logs to access_log_bucket. On by default; off only for the access-log bucket itself (it cannot log into itself) or an emulator without log delivery: it leaves no record of who read or wrote which object."
  type        = bool
  default     = true
  nullable    = false

  validation {
    condition     = var.kind != "access-logs" || !var.access_logging_enabled
    error_message = "an access-logs bucket cannot log into an access-log bucket (it would log its own deliveries); set access_logging_enabled = false."
  }
}

variable "access_log_bucket" {
  description = "Name of the bucket receiving this bucket's server access logs (an access-logs bucket; pass its `name` output so logging starts once delivery is allowed). Required while access_logging_enabled."
  type        = string
  default     = null

  validation {
    condition     = !var.access_logging_enabled || var.access_log_bucket != null
    error_message = "access_log_bucket is required while access_logging_enabled is true."
  }
  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be an S3 bucket name, not an ARN."
  }
}

variable "access_log_prefix" {
  description = "Key prefix of this bucket's log files in the access-log bucket, e.g. \"raw/\"."
  type        = string
  default     = ""
  nullable    = false
}

variable "bucket_policy_enabled" {
  description = "Put the module's deny statements in the bucket policy: TLS only (TLS 1.2 or later) and, for kind = \"standard\", no upload asking for another encryption type or key. Off only for emulators that ignore policy conditions (moto 5.2 applies every conditional Deny to every request). policy_documents are attached either way."
  type        = bool
  default     = true
  nullable    = false
}

variable "policy_documents" {
  description = "Further bucket-policy documents (JSON, e.g. aws_iam_policy_document.json) merged with the module's deny statements: the grant for CloudTrail delivery, for server access log delivery, or extra denies. Statement ids must be unique across all of them. An Allow for a wildcard principal is rejected."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for d in var.policy_documents : can(jsondecode(d).Statement)])
    error_message = "policy_documents entries must be IAM policy documents (JSON with a Statement)."
  }
  validation {
    condition = alltrue(flatten([
      for d in var.policy_documents : [
        for s in try(jsondecode(d).Statement[*], []) :
        try(s.Effect, "") != "Allow" || !contains(flatten([try(tostring(s.Principal), []), try(flatten([for v in values(s.Principal) : v]), [])]), "*")
      ]
    ]))
    error_message = "policy_documents must not Allow a wildcard principal (\"*\" or {\"AWS\": \"*\"}): grant named services or accounts."
  }
  validation {
    condition     = var.kind != "access-logs" || length(var.policy_documents) > 0
    error_message = "an access-logs bucket needs a policy_documents entry that admits logging.s3.amazonaws.com, or S3 cannot deliver logs into it."
  }
}

variable "tags" {
  description = "Tags of the bucket, merged over the provider's default_tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
