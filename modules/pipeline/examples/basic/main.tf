# The pipeline module on its own: queue, delivery, processor, tables and alarms
# around buckets, keys and subnets that the storage, kms and network modules
# (or an existing estate) provide. See README.md.

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

  name_prefix             = var.name_prefix
  account_id              = var.account_id
  storage_kms_key_arn     = var.storage_kms_key_arn
  operational_kms_key_arn = var.operational_kms_key_arn
  logs_kms_key_arn        = var.logs_kms_key_arn
  bucket_names            = var.bucket_names
  subnet_ids              = var.subnet_ids
  security_group_ids      = var.security_group_ids

  package_path   = var.package_path
  package_sha256 = filebase64sha256(var.package_path)

  # The same file `make build CONFIG=...` packed into the zip: routes and filters
  # cannot drift apart, and the function refuses a zip packed from another file.
  processing_config = file(var.processing_config_path)

  delivery                   = var.delivery
  create_bucket_notification = var.create_bucket_notification

  database               = var.database
  notification_emails    = var.notification_emails
  existing_sns_topic_arn = var.existing_sns_topic_arn

  environment_variables = {
    POWERTOOLS_SERVICE_NAME = "ferry"
  }
}
