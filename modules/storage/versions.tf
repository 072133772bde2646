terraform {
  # Tested with Terraform 1.11 and hashicorp/aws 5.100; checked against the
  # provider 6.0 upgrade guide (aws_region: `id`, not the deprecated `name`).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
