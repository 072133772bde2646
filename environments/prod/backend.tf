# State lives in S3, configured per environment at init time (partial
# configuration), so nothing account-specific is committed:
#
#   terraform init -backend-config=backend.hcl
#
# backend.hcl (not committed; see backend.hcl.example):
#
#   bucket       = "<state bucket>"
#   key          = "ferry/<environment>/terraform.tfstate"
#   region       = "eu-west-1"
#   encrypt      = true
#   kms_key_id   = "<KMS key ARN for state>"
#   use_lockfile = true   # S3-native state locking, no DynamoDB table
terraform {
  backend "s3" {}
}
