variable "name_prefix" {
  description = "Prefix for every name this module creates (buckets are <name_prefix>-<role>-<suffix>). Lowercase letters, digits and hyphens, 3-32 characters."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "account_id" {
  description = "AWS account id (12 digits) that owns the buckets: the default bucket name suffix and the aws:SourceAccount of the access-log delivery policy. Taken as an input so plans work without calling AWS."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "bucket_name_suffix" {
  description = "Suffix of every bucket name (<name_prefix>-<role>-<suffix>). Empty (the default) uses account_id, which keeps names globally unique per account. Lowercase letters, digits and hyphens only (no dots: they break TLS for virtual-hosted requests); the longest name, <name_prefix>-access-logs-<suffix>, must fit S3's 63 characters."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.bucket_name_suffix == "" || can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be lowercase letters, digits and hyphens, starting and ending with a letter or digit (no dots, no uppercase)."
  }
  validation {
    condition     = !strcontains(var.bucket_name_suffix, "--") && !endswith(var.bucket_name_suffix, "-s3alias") && !endswith(var.bucket_name_suffix, "--ol-s3") && !endswith(var.bucket_name_suffix, "--x-s3")
    error_message = "bucket_name_suffix must not contain \"--\" or end in a suffix S3 reserves (-s3alias, --ol-s3, --x-s3)."
  }
  validation {
    condition     = length("${var.name_prefix}-access-logs-${var.bucket_name_suffix == "" ? var.account_id : var.bucket_name_suffix}") <= 63
    error_message = "bucket names must fit 63 characters: <name_prefix>-access-logs-<suffix> is too long; shorten name_prefix or bucket_name_suffix."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key (the storage tier key; single- or multi-Region) that encrypts the data buckets ferry creates. Uploads that ask for another key or another encryption type are denied by the bucket policy."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<uuid> or key/mrk-<32 hex>; aliases and key ids are not accepted because the bucket policy compares the exact ARN."
  }
}

variable "bucket_lifecycle" {
  description = <<-EOT
    Lifecycle per bucket role. current_expiration_days: days until the current
    version expires (0 keeps it forever); noncurrent_expiration_days: days a
    replaced or deleted version is kept; abort_incomplete_multipart_days: days
    until unfinished multipart uploads are removed. Object Lock retention
    (processed, failed) wins over expiry: a locked version is removed only
    after its retention ends.
  EOT
  type = object({
    raw = optional(object({
      current_expiration_days         = optional(number, 90)
      noncurrent_expiration_days      = optional(number, 30)
      abort_incomplete_multipart_days = optional(number, 7)
    }), {})
    processed = optional(object({
      current_expiration_days         = optional(number, 0)
      noncurrent_expiration_days      = optional(number, 90)
      abort_incomplete_multipart_days = optional(number, 7)
    }), {})
    failed = optional(object({
      current_expiration_days         = optional(number, 180)
      noncurrent_expiration_days      = optional(number, 30)
      abort_incomplete_multipart_days = optional(number, 7)
    }), {})
    access_logs = optional(object({
      current_expiration_days         = optional(number, 365)
      noncurrent_expiration_days      = optional(number, 30)
      abort_incomplete_multipart_days = optional(number, 1)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for rule in values(var.bucket_lifecycle) :
      rule.current_expiration_days == 0 || (rule.current_expiration_days >= 1 && rule.current_expiration_days <= 36500)
    ])
    error_message = "current_expiration_days must be 0 (keep forever) or between 1 and 36500."
  }
  validation {
    condition = alltrue([
      for rule in values(var.bucket_lifecycle) : rule.noncurrent_expiration_days >= 1 && rule.noncurrent_expiration_days <= 36500
    ])
    error_message = "noncurrent_expiration_days must be between 1 and 36500: versioned buckets must not keep old versions forever."
  }
  validation {
    condition = alltrue([
      for rule in values(var.bucket_lifecycle) : rule.abort_incomplete_multipart_days >= 1 && rule.abort_incomplete_multipart_days <= 365
    ])
    error_message = "abort_incomplete_multipart_days must be between 1 and 365."
  }
  validation {
    condition = alltrue(flatten([
      for rule in values(var.bucket_lifecycle) : [for v in values(rule) : floor(v) == v]
    ]))
    error_message = "lifecycle day counts must be whole numbers."
  }
  validation {
    condition     = var.bucket_lifecycle.access_logs.current_expiration_days == 0 || var.bucket_lifecycle.access_logs.current_expiration_days >= 90
    error_message = "access logs must be kept at least 90 days (access_logs.current_expiration_days 0 or >= 90)."
  }
}

variable "object_lock" {
  description = <<-EOT
    Object Lock default retention for the processed and failed buckets.
    GOVERNANCE (default): no version can be overwritten or deleted during
    retention except by a principal granted s3:BypassGovernanceRetention, so
    operators can still correct mistakes. COMPLIANCE: nobody, not even the
    account root, can delete a locked version or shorten its retention until it
    ends; it needs allow_compliance_object_lock = true as well. OFF: no Object
    Lock. Object Lock is fixed when a bucket is created, so switching between
    OFF and a mode replaces the processed and failed buckets.
  EOT
  type = object({
    mode           = optional(string, "GOVERNANCE")
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
}

variable "allow_compliance_object_lock" {
  description = "Confirms that object_lock.mode = COMPLIANCE is intended. Without it COMPLIANCE is rejected."
  type        = bool
  default     = false
  nullable    = false
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete non-empty buckets with all their versions. Off by default: data is never deleted by a destroy unless asked for (disposable environments only)."
  type        = bool
  default     = false
  nullable    = false
}

variable "access_logging_enabled" {
  description = "Server access logging of the data buckets into a dedicated access-log bucket. On by default; switching it off (for example for an emulator without log delivery) removes the access-log bucket and leaves no record of who read or wrote which object."
  type        = bool
  default     = true
  nullable    = false
}

variable "access_log_source_bucket_names" {
  description = "Other buckets of this account that may deliver server access logs into the access-log bucket (for example the audit trail's bucket). The data buckets are always allowed; nothing else is."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for n in var.access_log_source_bucket_names : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", n))])
    error_message = "access_log_source_bucket_names must be S3 bucket names (3-63 lowercase letters, digits, dots, hyphens), not ARNs or wildcards."
  }
}

variable "bucket_policies_enabled" {
  description = "Attach the data buckets' policies (deny non-TLS and TLS < 1.2, deny uploads asking for another encryption type or key). On by default; switch off only for an emulator that ignores policy conditions: moto 5.2 applies every conditional Deny unconditionally, which would deny every request. The access-log bucket's policy then keeps only the log-delivery grant. Default encryption with the storage key, versioning, public access blocks, logging and Object Lock stay on either way."
  type        = bool
  default     = true
  nullable    = false
}

variable "existing_raw_bucket" {
  description = <<-EOT
    A raw (landing) bucket that exists already, used instead of creating one.
    name: the bucket's name; arn: its ARN (null builds it from the name and
    the partition); kms_key_arn: the customer-managed key of its default
    encryption, or null when it uses SSE-S3 (the processor role then needs no
    key grant for it). storage then creates no raw bucket (no encryption,
    versioning, lifecycle, logging or policy of it is managed here) and its
    outputs (bucket_names.raw, bucket_arns.raw, ...) name this one. ferry does
    not take over its notification configuration (S3 has one per bucket):
    deliver its object events through EventBridge, switched on on the bucket
    by its owner.
  EOT
  type = object({
    name        = string
    arn         = optional(string)
    kms_key_arn = optional(string)
  })
  default = null

  validation {
    condition     = var.existing_raw_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.existing_raw_bucket.name))
    error_message = "existing_raw_bucket.name must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens), not an ARN."
  }
  validation {
    condition     = try(var.existing_raw_bucket.arn == null, true) || try(can(regex("^arn:aws[a-z-]*:s3:::${var.existing_raw_bucket.name}$", var.existing_raw_bucket.arn)), false)
    error_message = "existing_raw_bucket.arn must be the ARN of the bucket named in existing_raw_bucket.name (arn:<partition>:s3:::<name>), or null."
  }
  validation {
    condition     = try(var.existing_raw_bucket.kms_key_arn == null, true) || try(can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.existing_raw_bucket.kms_key_arn)), false)
    error_message = "existing_raw_bucket.kms_key_arn must be a KMS key ARN (key/<uuid> or key/mrk-<32 hex>), or null for an SSE-S3 bucket."
  }
}
