variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "name_prefix" {
  description = "Name prefix of the pipeline's resources."
  type        = string
  default     = "ferry-example"
  nullable    = false
}

variable "account_id" {
  description = "AWS account id (12 digits)."
  type        = string
  nullable    = false
}

variable "storage_kms_key_arn" {
  description = "KMS key of the data buckets (module.kms.storage_key_arn)."
  type        = string
  nullable    = false
}

variable "operational_kms_key_arn" {
  description = "KMS key of queues, tables, function environment and topic (module.kms.operational_key_arn)."
  type        = string
  nullable    = false
}

variable "logs_kms_key_arn" {
  description = "KMS key of the function's log group (module.kms.logs_key_arn)."
  type        = string
  nullable    = false
}

variable "bucket_names" {
  description = "Bucket names: raw, processed, failed (module.storage.bucket_names)."
  type = object({
    raw       = string
    processed = string
    failed    = string
  })
  nullable = false
}

variable "subnet_ids" {
  description = "Private subnet ids (module.network.private_subnet_ids)."
  type        = list(string)
  nullable    = false
}

variable "security_group_ids" {
  description = "Security group ids for the function ([module.network.processor_security_group_id])."
  type        = list(string)
  nullable    = false
}

variable "package_path" {
  description = "The zip `make build` produced."
  type        = string
  nullable    = false
}

variable "processing_config_path" {
  description = "The processing configuration the zip was built with (make build CONFIG=...)."
  type        = string
  default     = "processing.json"
  nullable    = false
}

variable "delivery" {
  description = "s3_notification or eventbridge."
  type        = string
  default     = "s3_notification"
  nullable    = false
}

variable "database" {
  description = "PostgreSQL settings (host, port, name, secret_arn); empty: none."
  type = object({
    host       = optional(string, "")
    port       = optional(number, 5432)
    name       = optional(string, "")
    secret_arn = optional(string, "")
  })
  default  = {}
  nullable = false
}

variable "create_bucket_notification" {
  description = "false when the raw bucket belongs to someone else (see the module README)."
  type        = bool
  default     = true
  nullable    = false
}

variable "notification_emails" {
  description = "Addresses subscribed to the alarm topic the module creates."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "existing_sns_topic_arn" {
  description = "An SNS topic that exists, for the alarms (null: the module creates one)."
  type        = string
  default     = null
}
