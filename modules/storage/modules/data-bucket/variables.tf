# Inputs are validated by the storage module that calls this one; the checks
# here only keep the module safe on its own.

variable "bucket_name" {
  description = "Bucket name."
  type        = string
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN for default encryption; the bucket policy refuses uploads asking for any other key or encryption type."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with all object versions."
  type        = bool
  default     = false
  nullable    = false
}

variable "object_lock" {
  description = "Object Lock default retention: mode OFF, GOVERNANCE or COMPLIANCE and retention_days."
  type = object({
    mode           = string
    retention_days = number
  })
  default  = { mode = "OFF", retention_days = 1 }
  nullable = false

  validation {
    condition     = contains(["OFF", "GOVERNANCE", "COMPLIANCE"], var.object_lock.mode)
    error_message = "object_lock.mode must be OFF, GOVERNANCE or COMPLIANCE."
  }
}

variable "lifecycle_rule" {
  description = "current_expiration_days (0 = keep), noncurrent_expiration_days, abort_incomplete_multipart_days."
  type = object({
    current_expiration_days         = number
    noncurrent_expiration_days      = number
    abort_incomplete_multipart_days = number
  })
  nullable = false
}

variable "access_logging_enabled" {
  description = "Deliver server access logs to access_log_bucket."
  type        = bool
  default     = true
  nullable    = false
}

variable "access_log_bucket" {
  description = "Name of the bucket receiving this bucket's server access logs (used when access_logging_enabled)."
  type        = string
  default     = ""
  nullable    = false
}

variable "access_log_prefix" {
  description = "Key prefix of this bucket's access log files in the access-log bucket."
  type        = string
  default     = ""
  nullable    = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "bucket_policy_enabled" {
  description = "Attach the bucket policy (TLS-only, SSE-KMS with kms_key_arn only). Off only for emulators that ignore policy conditions."
  type        = bool
  default     = true
  nullable    = false
}
