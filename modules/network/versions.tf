terraform {
  # Tested with Terraform 1.11 and hashicorp/aws 5.100; checked against the 6.0
  # upgrade guide (docs/provider-6.md).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
