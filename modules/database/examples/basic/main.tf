# Smallest useful call: a private PostgreSQL 16 instance in two isolated
# subnets, encrypted with your customer-managed keys. Plans offline: the
# provider skips every call that needs a real account, and the subnets,
# security group and keys (in a real root: outputs of the network and kms
# modules) are inputs.

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
  description = "Region to deploy into."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "account_id" {
  description = "12-digit id of the target account."
  type        = string
  nullable    = false
}

variable "isolated_subnet_ids" {
  description = "Two or more isolated subnets in different availability zones (module.network.isolated_subnet_ids)."
  type        = list(string)
  nullable    = false
}

variable "database_security_group_id" {
  description = "Security group that admits the processors on 5432 only (module.network.database_security_group_id)."
  type        = string
  nullable    = false
}

variable "operational_key_arn" {
  description = "KMS key for storage, backups, Performance Insights and the master user secret (module.kms.operational_key_arn)."
  type        = string
  nullable    = false
}

variable "logs_key_arn" {
  description = "KMS key for the exported log groups (module.kms.logs_key_arn)."
  type        = string
  nullable    = false
}

module "database" {
  source = "../.."

  name_prefix             = "ferry-example"
  account_id              = var.account_id
  subnet_ids              = var.isolated_subnet_ids
  security_group_ids      = [var.database_security_group_id]
  operational_kms_key_arn = var.operational_key_arn
  logs_kms_key_arn        = var.logs_key_arn

  tags = { Environment = "example" }
}

output "address" {
  description = "Host name to connect to with sslmode=verify-full."
  value       = module.database.address
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret that holds the master credentials."
  value       = module.database.master_user_secret_arn
}
