# A two-zone VPC without NAT: processors reach AWS through VPC endpoints only.
# Plans offline: the provider skips every call that needs a real account, and
# the account id and zones are inputs.
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
  description = "Region of the VPC."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "account_id" {
  description = "Account that owns the VPC."
  type        = string
  default     = "123456789012"
  nullable    = false
}

variable "logs_key_arn" {
  description = "Logs-tier KMS key (in a real root: module.kms.logs_key_arn)."
  type        = string
  default     = "arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
  nullable    = false
}

module "network" {
  source = "../.."

  name_prefix        = "ferry-example"
  account_id         = var.account_id
  vpc_cidr           = "10.40.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b"]
  logs_kms_key_arn   = var.logs_key_arn

  tags = { Environment = "example" }
}

output "vpc_id" {
  description = "VPC id."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnet ids."
  value       = module.network.private_subnet_ids
}
