terraform {
  # Tested with Terraform 1.11 and hashicorp/aws 5.100. The S3 resources used
  # here were checked against the 6.0 upgrade guide: none of them, nor any
  # argument set here, was removed or deprecated in 6.0.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
