variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "name" {
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

variable "kms_key_arns" {
  description = "KMS key ARNs: storage, operational, logs (module.kms.key_arns)."
  type = object({
    storage     = string
    operational = string
    logs        = string
  })
  nullable = false
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

variable "alarm_emails" {
  description = "Addresses subscribed to the alarms."
  type        = list(string)
  default     = []
  nullable    = false
}
