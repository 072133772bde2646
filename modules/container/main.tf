# The large-file lane: an ECS cluster and a Fargate task definition that runs
# ferry's processors (`python -m ferry.task`), the task's two roles, and its log
# group. The state machine that runs it is in state_machine.tf, the optional
# EventBridge start in start.tf.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  names = {
    cluster         = "${var.name_prefix}-large-files"
    family          = "${var.name_prefix}-large-files"
    task_role       = "${var.name_prefix}-large-files-task"
    execution_role  = "${var.name_prefix}-large-files-task-execution"
    state_machine   = "${var.name_prefix}-large-files"
    sfn_role        = "${var.name_prefix}-large-files-states"
    start_rule      = "${var.name_prefix}-large-files-start"
    start_role      = "${var.name_prefix}-large-files-start"
    start_retry     = "${var.name_prefix}-large-files-start-dlq"
    task_log_group  = "/ecs/${var.name_prefix}-large-files"
    states_log_grp  = "/aws/vendedlogs/states/${var.name_prefix}-large-files"
    container       = "ferry"
    tmp_volume      = "tmp"
    cluster_pattern = "arn:${local.partition}:ecs:${local.region}:${var.account_id}"
  }

  cluster_arn = var.create_cluster ? aws_ecs_cluster.this[0].arn : var.existing_cluster_arn
  # The state machine's definition names the created cluster and task definition
  # by their ARNs, so it is known only after apply: the provider validates a known
  # definition with the Step Functions API during plan, which an offline plan
  # cannot call. The module's tests assert the rendered definition instead.
  family_arn   = aws_ecs_task_definition.this.arn_without_revision
  cluster_name = element(split("/", local.cluster_arn), length(split("/", local.cluster_arn)) - 1)

  bucket_arns = { for role, name in var.bucket_names : role => "arn:${local.partition}:s3:::${name}" }
  table_arns  = { for role, name in var.table_names : role => "arn:${local.partition}:dynamodb:${local.region}:${var.account_id}:table/${name}" }

  # ECR images: the execution role may pull from that repository only.
  ecr                = regex("^(?:(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/(?P<repository>[^@]+))?", var.image)
  ecr_repository_arn = local.ecr.account == null ? null : "arn:${local.partition}:ecr:${local.ecr.region}:${local.ecr.account}:repository/${local.ecr.repository}"

  # The secrets' ARNs without a JSON key / version suffix (what GetSecretValue is authorised on).
  secret_arns = distinct([for v in values(var.secrets) : join(":", slice(split(":", v), 0, 7))])

  environment = merge(var.environment_variables, {
    FERRY_TASK_TIMEOUT_SECONDS = tostring(var.task_timeout_seconds)
    TMPDIR                     = "/tmp"
  })
}

resource "aws_ecs_cluster" "this" {
  count = var.create_cluster ? 1 : 0

  name = local.names.cluster
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "task" {
  name              = local.names.task_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

# --- roles -----------------------------------------------------------------------------

# "Amazon ECS task IAM role" (trust policy with aws:SourceAccount / aws:SourceArn
# against the confused deputy),
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.names.cluster_pattern}:*"]
    }
  }
}

# The task role: what ferry's processors call (the same calls as the function's
# role, minus the queue and Lambda's network interfaces; no Secrets Manager).
data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadRawObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.bucket_arns.raw}/*"]
  }

  dynamic "statement" {
    for_each = var.delete_raw_objects ? [1] : []
    content {
      sid       = "DeleteProcessedRawObjects"
      actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      resources = ["${local.bucket_arns.raw}/*"]
    }
  }

  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arns.processed}/*", "${local.bucket_arns.failed}/*"]
  }

  # "Using SSE-KMS" (kms:ViaService keeps the data keys to S3 and DynamoDB),
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms
  statement {
    sid       = "UseStorageDataKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.storage_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  # "Encryption at rest: how it works" (DynamoDB with a customer-managed key),
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html
  statement {
    sid       = "UseTableDataKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.operational_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid = "UseTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = values(local.table_arns)
  }

  # "Creating and using an IAM policy for IAM database access",
  # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
  dynamic "statement" {
    for_each = var.database.iam_auth_user == "" ? [] : [1]
    content {
      sid       = "ConnectAsDatabaseUser"
      actions   = ["rds-db:connect"]
      resources = ["arn:${local.partition}:rds-db:${local.region}:${var.account_id}:dbuser:${var.database.resource_id}/${var.database.iam_auth_user}"]
    }
  }
}

resource "aws_iam_role" "task" {
  name                 = local.names.task_role
  description          = "Task role of ${local.names.family}: ferry's processors in a container"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "task" {
  name   = "${local.names.task_role}-least-privilege"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# The execution role: ECS itself pulls the image, writes the container's log
# and reads the secrets it injects ("Amazon ECS task execution IAM role",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html;
# "Pass Secrets Manager secrets through Amazon ECS environment variables",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
data "aws_iam_policy_document" "execution" {
  dynamic "statement" {
    for_each = local.ecr_repository_arn == null ? [] : [1]
    content {
      sid       = "EcrAuthorization"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.ecr_repository_arn == null ? [] : [local.ecr_repository_arn]
    content {
      sid       = "PullImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "WriteTaskLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.task.arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.secret_arns) == 0 ? [] : [1]
    content {
      sid       = "InjectSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.secret_arns) == 0 ? [] : [1]
    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"]
      resources = [var.operational_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "execution" {
  name                 = local.names.execution_role
  description          = "Task execution role of ${local.names.family}: image pull, logs, secrets injection"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.role_permissions_boundary_arn == "" ? null : var.role_permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "execution" {
  # checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource type: AWS documents it on "*" (task_execution_IAM_role.html); every other statement names its resource.
  name   = "${local.names.execution_role}-least-privilege"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- task definition --------------------------------------------------------------------

resource "aws_ecs_task_definition" "this" {
  family                   = local.names.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gib
  }

  # The only writable path: a task-scoped volume on the ephemeral storage.
  volume {
    name = local.names.tmp_volume
  }

  container_definitions = jsonencode([{
    name                   = local.names.container
    image                  = var.image
    essential              = true
    command                = ["python", "-m", "ferry.task"]
    user                   = var.user
    readonlyRootFilesystem = true
    privileged             = false
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { drop = ["ALL"] }
    }
    mountPoints = [{ sourceVolume = local.names.tmp_volume, containerPath = "/tmp", readOnly = false }]
    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets     = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.task.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "task"
      }
    }
  }])
}
