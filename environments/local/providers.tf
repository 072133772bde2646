# Every AWS API call goes to the local emulator. Credentials are fake ones that
# `make local` exports (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the emulator
# accepts any.
provider "aws" {
  region = var.region

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  # aws_macie2_account needs the account id from STS; the emulator answers it.
  skip_requesting_account_id = false
  # The emulator serves every bucket on one host: path-style addressing.
  s3_use_path_style = true
  max_retries       = var.max_retries

  endpoints {
    cloudtrail     = var.endpoint
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    dynamodb       = var.endpoint
    ec2            = var.endpoint
    eventbridge    = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    macie2         = var.endpoint
    rds            = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    sts            = var.endpoint
  }

  default_tags {
    tags = local.tags
  }
}
