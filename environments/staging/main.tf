# staging: production's shape at a smaller size: no NAT unless egress CIDRs are
# given (then one NAT gateway), a Multi-AZ database with deletion protection,
# GOVERNANCE Object Lock for a week, daily Macie scans of half the objects.
# Account, region and zones are in terraform.tfvars.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # S3 state, configured at init time: terraform init -backend-config=backend.hcl
  # (see backend.hcl.example; nothing account-specific is committed).
  backend "s3" {}
}

# Where the environment deploys (terraform.tfvars) and the zip it deploys.
variable "account_id" { type = string }
variable "region" { type = string }
variable "availability_zones" { type = list(string) }
variable "notification_emails" {
  type    = list(string)
  default = []
}
variable "package_path" {
  type    = string
  default = "../../build/processor.zip"
}
variable "package_sha256" {
  type    = string
  default = null
}
# The zip's architecture: `make build ARCH=` and `make apply ARCH=` pass the
# same value, and `make apply` refuses a zip built for another one.
variable "architecture" {
  type    = string
  default = "x86_64"
}
# Tests and offline reviews only: plan without AWS credentials.
variable "offline_plan" {
  type    = bool
  default = false
}

provider "aws" {
  region = var.region

  allowed_account_ids         = var.offline_plan ? null : [var.account_id]
  skip_credentials_validation = var.offline_plan
  skip_requesting_account_id  = var.offline_plan
  skip_metadata_api_check     = var.offline_plan

  default_tags {
    tags = { Project = "ferry", Environment = "staging", ManagedBy = "terraform" }
  }
}

module "ferry" {
  source = "../../modules/ferry"

  name_prefix            = "ferry-staging"
  account_id             = var.account_id
  package_path           = var.package_path
  package_sha256         = var.package_sha256
  processing_config_path = "${path.root}/../../lambda_src/config/ferry.json"

  network = {
    vpc_cidr           = "10.41.0.0/16"
    availability_zones = var.availability_zones
    # NAT only for egress_cidrs (networks outside AWS the processors call on
    # 443); none given, so no NAT: AWS services through the VPC endpoints.
    egress_cidrs = []
    nat_mode     = "single"
  }
  object_lock = { mode = "GOVERNANCE", retention_days = 7 }
  processor   = { architecture = var.architecture, memory_size = 1024, reserved_concurrent_executions = 10, maximum_concurrency = 5 }
  database = {
    instance_class          = "db.t4g.large"
    allocated_storage       = 50
    max_allocated_storage   = 200
    backup_retention_period = 14
  }
  macie = { schedule = "daily", sampling_percentage = 50 }

  log_retention_days           = 365
  audit_log_retention_days     = 365
  trail_bucket_retention_days  = 730
  notification_emails          = var.notification_emails
  security_notification_emails = var.notification_emails
}

output "ferry" {
  description = "Everything the environment created: buckets, queues, function, tables, topics, keys (modules/ferry outputs)."
  value       = module.ferry
}

# Upgrade in place from the layout before modules/ferry (ferry 1.x), where
# this root called each module itself: the same resources, new addresses.
moved {
  from = module.kms
  to   = module.ferry.module.kms[0]
}

moved {
  from = module.network
  to   = module.ferry.module.network[0]
}

moved {
  from = module.storage
  to   = module.ferry.module.storage
}

moved {
  from = module.database
  to   = module.ferry.module.database[0]
}

moved {
  from = module.pipeline
  to   = module.ferry.module.pipeline
}

moved {
  from = module.audit
  to   = module.ferry.module.audit[0]
}
