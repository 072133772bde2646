# Three tier keys for one environment. Plans offline: the provider skips every
# call that needs a real account, and the account id is an input.
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
  description = "Region the keys live in."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "account_id" {
  description = "Account that owns the keys."
  type        = string
  default     = "123456789012"
  nullable    = false
}

module "kms" {
  source = "../.."

  name_prefix = "ferry-example"
  account_id  = var.account_id

  key_users = {
    storage     = ["arn:aws:iam::${var.account_id}:role/ferry-example-processor"]
    operational = ["arn:aws:iam::${var.account_id}:role/ferry-example-processor"]
  }

  tags = { Environment = "example" }
}

output "key_arns" {
  description = "Key ARN by tier."
  value       = module.kms.key_arns
}

output "alias_names" {
  description = "Alias name by tier."
  value       = module.kms.alias_names
}
