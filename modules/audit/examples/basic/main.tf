# Audit for an existing set of data buckets: a multi-region trail with S3 data
# events, and a daily Macie scan whose findings reach SNS and CloudWatch Logs.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]
}

variable "region" {
  description = "Region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "account_id" {
  description = "12-digit id of the target account."
  type        = string
}

variable "logs_key_arn" {
  description = "KMS key for the trail, its bucket and the log groups."
  type        = string
}

variable "operational_key_arn" {
  description = "KMS key for the findings topic."
  type        = string
}

variable "data_bucket_names" {
  description = "Raw, processed and failed bucket names."
  type = object({
    raw       = string
    processed = string
    failed    = string
  })
}

data "aws_partition" "current" {}

module "audit" {
  source = "../.."

  name_prefix          = "ferry-example"
  account_id           = var.account_id
  logs_kms_key_arn     = var.logs_key_arn
  findings_kms_key_arn = var.operational_key_arn

  data_event_bucket_arns = [for name in values(var.data_bucket_names) : "arn:${data.aws_partition.current.partition}:s3:::${name}"]
  macie_bucket_names     = [var.data_bucket_names.raw, var.data_bucket_names.failed]
}

output "trail_arn" {
  description = "The trail."
  value       = module.audit.trail_arn
}

output "findings_topic_arn" {
  description = "Subscribe the security team here."
  value       = module.audit.findings_topic_arn
}
