# The pipeline module on its own: queue, delivery, processor, tables and alarms
# around buckets, keys and subnets that the storage, kms and network modules
# (or an existing estate) provide. See README.md.

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
  region = var.region

  # The account id is an input, so the provider never has to look it up.
  skip_requesting_account_id  = true
  skip_credentials_validation = true

  default_tags {
    tags = {
      project = "ferry"
      example = "pipeline-basic"
    }
  }
}

module "pipeline" {
  source = "../.."

  name               = var.name
  account_id         = var.account_id
  kms_key_arns       = var.kms_key_arns
  bucket_names       = var.bucket_names
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids

  package_path   = var.package_path
  package_sha256 = filebase64sha256(var.package_path)

  delivery = var.delivery
  routes = [
    { prefix = "incoming/", suffix = ".csv" },
    { prefix = "incoming/", suffix = ".json" },
    { prefix = "documents/" },
  ]

  database     = var.database
  alarm_emails = var.alarm_emails

  environment_variables = {
    POWERTOOLS_SERVICE_NAME = "ferry"
  }
}
