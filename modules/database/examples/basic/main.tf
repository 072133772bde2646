# Smallest useful call: a private PostgreSQL 16 instance in two isolated
# subnets, encrypted with your customer-managed keys.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
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

variable "isolated_subnet_ids" {
  description = "Two or more isolated subnets in different availability zones."
  type        = list(string)
}

variable "database_security_group_id" {
  description = "Security group that admits the application on 5432 only."
  type        = string
}

variable "storage_key_arn" {
  description = "KMS key for storage, backups and Performance Insights."
  type        = string
}

variable "operational_key_arn" {
  description = "KMS key for the master user secret."
  type        = string
}

variable "logs_key_arn" {
  description = "KMS key for the exported log groups."
  type        = string
}

module "database" {
  source = "../.."

  name_prefix                    = "ferry-example"
  account_id                     = var.account_id
  subnet_ids                     = var.isolated_subnet_ids
  vpc_security_group_ids         = [var.database_security_group_id]
  kms_key_arn                    = var.storage_key_arn
  master_user_secret_kms_key_arn = var.operational_key_arn
  logs_kms_key_arn               = var.logs_key_arn
}

output "address" {
  description = "Host name to connect to with sslmode=verify-full."
  value       = module.database.address
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret that holds the master credentials."
  value       = module.database.master_user_secret_arn
}
