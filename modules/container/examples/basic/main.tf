# The large-file lane on its own: a Fargate task that runs ferry's processors,
# the state machine that runs it, and the EventBridge start with its retry
# queue. Plans offline: the provider skips every call that needs a real
# account, and the account id and the other modules' outputs are inputs.
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
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variable "account_id" {
  description = "Account that runs the lane."
  type        = string
  nullable    = false
}

variable "storage_key_arn" {
  description = "Storage-tier KMS key (in a real root: module.kms.key_arns.storage)."
  type        = string
  nullable    = false
}

variable "operational_key_arn" {
  description = "Operational-tier KMS key (module.kms.key_arns.operational)."
  type        = string
  nullable    = false
}

variable "logs_key_arn" {
  description = "Logs-tier KMS key (module.kms.key_arns.logs)."
  type        = string
  nullable    = false
}

variable "data_bucket_names" {
  description = "raw, processed and failed buckets (module.storage.bucket_names)."
  type        = object({ raw = string, processed = string, failed = string })
  nullable    = false
}

variable "private_subnet_ids" {
  description = "Private subnets (module.network.private_subnet_ids)."
  type        = list(string)
  nullable    = false
}

variable "processor_security_group_id" {
  description = "The processors' security group (module.network.processor_security_group_id)."
  type        = string
  nullable    = false
}

module "container" {
  source = "../.."

  name_prefix             = "ferry-example"
  account_id              = var.account_id
  storage_kms_key_arn     = var.storage_key_arn
  operational_kms_key_arn = var.operational_key_arn
  logs_kms_key_arn        = var.logs_key_arn
  bucket_names            = var.data_bucket_names
  table_names             = { ledger = "ferry-example-ledger", records = "ferry-example-records", metadata = "ferry-example-metadata" }
  subnet_ids              = var.private_subnet_ids
  security_group_ids      = [var.processor_security_group_id]

  image  = "${var.account_id}.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  cpu    = 2048
  memory = 8192

  environment_variables = {
    FERRY_LEDGER_TABLE  = "ferry-example-ledger"
    FERRY_FAILED_BUCKET = var.data_bucket_names.failed
    FERRY_DB_HOST       = "ferry-example.abcdefghijkl.eu-west-1.rds.amazonaws.com"
    FERRY_DB_NAME       = "ferry"
  }
  secrets = {
    FERRY_DB_SECRET = "arn:aws:secretsmanager:eu-west-1:${var.account_id}:secret:ferry-example/loader-AbCdEf"
  }

  eventbridge_start = { enabled = true, prefixes = ["incoming/orders/"], min_size_bytes = 512 * 1024 * 1024 }

  tags = { Environment = "example" }
}

output "state_machine_arn" {
  description = "The large-file state machine."
  value       = module.container.state_machine_arn
}
