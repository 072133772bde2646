# Data buckets for one environment, encrypted with a storage key from the kms
# module. Plans offline: the provider skips every call that needs a real
# account, and the account id is an input.
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
  region                      = var.region
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variable "region" {
  description = "Region the buckets live in."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "account_id" {
  description = "Account that owns the buckets."
  type        = string
  default     = "123456789012"
  nullable    = false
}

variable "storage_key_arn" {
  description = "Storage-tier KMS key (in a real root: module.kms.storage_key_arn)."
  type        = string
  default     = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
  nullable    = false
}

module "storage" {
  source = "../.."

  name_prefix = "ferry-example"
  account_id  = var.account_id
  kms_key_arn = var.storage_key_arn

  object_lock = { mode = "GOVERNANCE", retention_days = 14 }
  bucket_lifecycle = {
    raw = { current_expiration_days = 30 }
  }

  tags = { Environment = "example" }
}

output "bucket_names" {
  description = "Data bucket names by role."
  value       = module.storage.bucket_names
}

output "access_log_bucket_name" {
  description = "Access-log bucket name."
  value       = module.storage.access_log_bucket_name
}
