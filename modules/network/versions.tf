terraform {
  # Tested with Terraform 1.11 and hashicorp/aws 5.100; 6.x is not tested yet.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}
