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

  # The provider refuses credentials of any other account. Offline plans
  # (tests, reviews without credentials) cannot look the account up, so they
  # skip that check and every other call that needs AWS; never set
  # offline_plan for a real plan or apply.
  allowed_account_ids         = var.offline_plan ? null : [var.account_id]
  skip_credentials_validation = var.offline_plan
  skip_requesting_account_id  = var.offline_plan
  skip_metadata_api_check     = var.offline_plan

  default_tags {
    tags = local.default_tags
  }
}
