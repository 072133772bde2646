# Dataset migrations run inside the VPC, through a function of the same zip
# (ferry.migrate_handler): it logs in as the RDS master user with the
# RDS-managed secret, creates the dataset tables and the loader role the
# processor logs in as (IAM database authentication), and is invoked by the
# apply whenever the processing configuration changes. Never from a laptop.

data "aws_iam_policy_document" "migrate" {
  count = local.create_migrate ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.function_base.json]

  statement {
    sid       = "ReadMasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database.master_secret_arn]
  }

  # The RDS-managed secret is encrypted with the operational key; reading it
  # decrypts through Secrets Manager ("Authentication and access control for
  # AWS Secrets Manager" / "Secret encryption and decryption in AWS Secrets
  # Manager", https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
  statement {
    sid       = "DecryptMasterSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.operational_kms_key_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns.migrate}:*"]
  }
}

resource "aws_iam_role" "migrate" {
  count = local.create_migrate ? 1 : 0

  name                 = local.names.migrate
  description          = "Execution role of ${local.names.migrate}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "migrate" {
  # checkov:skip=CKV_AWS_290:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  # checkov:skip=CKV_AWS_355:Lambda's VPC network-interface actions, which AWS documents on all resources (scoped ones fail CreateFunction and strand interfaces); placement is enforced on the deployer (deployer_placement_policy_json).
  count = local.create_migrate ? 1 : 0

  name   = "${local.names.migrate}-least-privilege"
  role   = aws_iam_role.migrate[0].id
  policy = data.aws_iam_policy_document.migrate[0].json
}

resource "aws_cloudwatch_log_group" "migrate" {
  count = local.create_migrate ? 1 : 0

  name              = local.log_group_names.migrate
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "migrate" {
  count = local.create_migrate ? 1 : 0

  # checkov:skip=CKV_AWS_116:Invoked synchronously by the apply (aws_lambda_invocation), which fails with the function's error; a dead-letter queue only applies to asynchronous invocation.
  # checkov:skip=CKV_AWS_272:Code signing is opt-in through var.code_signing (make build produces unsigned zips); when set, the same config is attached.
  function_name                  = local.names.migrate
  description                    = "ferry: dataset migrations and the loader role, run by the apply"
  role                           = aws_iam_role.migrate[0].arn
  filename                       = var.package_path
  source_code_hash               = var.package_sha256
  handler                        = "ferry.migrate_handler.handler"
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  memory_size                    = 512
  timeout                        = 300
  reserved_concurrent_executions = 1
  kms_key_arn                    = var.operational_kms_key_arn
  code_signing_config_arn        = try(aws_lambda_code_signing_config.processor[0].arn, null)

  environment {
    variables = local.migrate_environment
  }

  # The processor's subnets and security groups: the database admits them.
  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format            = "JSON"
    log_group             = local.log_group_names.migrate
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.database.master_secret_arn != "" && var.database.host != ""
      error_message = "create_migration needs database.host and database.master_secret_arn (the RDS-managed master secret the migration logs in with)."
    }
  }

  depends_on = [aws_cloudwatch_log_group.migrate, aws_iam_role_policy.migrate]
}

# Re-invoked whenever the input changes, i.e. when the processing
# configuration (its datasets) changes; the migration is idempotent. A failed
# migration fails the apply with the function's error.
resource "aws_lambda_invocation" "migrate" {
  count = local.create_migrate ? 1 : 0

  function_name = aws_lambda_function.migrate[0].function_name
  input = jsonencode({
    action        = "migrate"
    config_sha256 = local.processing_config_sha256
  })
}
