# The local stack: the composition every environment uses (modules/ferry),
# applied to an AWS emulator (moto) with a local PostgreSQL standing in for
# RDS. `make local` starts both, applies this root, and runs the real handler
# in a local poller. What the emulator cannot do is switched off by the
# composition's one `emulator` input (its description lists each item).

locals {
  tags = {
    project     = "ferry"
    environment = "local"
  }
}

module "ferry" {
  source = "../../modules/ferry"

  name_prefix            = var.name
  account_id             = var.account_id
  tags                   = local.tags
  package_path           = var.package_path
  processing_config_path = var.processing_config_path

  emulator = {
    enabled  = true
    database = var.database
  }

  network = { availability_zones = ["${var.region}a", "${var.region}b"] }
  # Short, so that a retry (visibility timeout = 6 x timeout = 90 s) and
  # dead-lettering (after 3 deliveries) happen within minutes on a laptop.
  processor = { timeout = 15, max_receive_count = 3 }

  # The large-file lane: the emulator runs no containers, so the local stack
  # creates this state machine from modules/container's definition and runs its
  # steps itself (python -m ferry.task as a child process where Fargate would
  # run the container); the function hands objects to it as in AWS.
  existing_container_state_machine_arn = "arn:aws:states:${var.region}:${var.account_id}:stateMachine:${var.name}-large-files"
}

# Upgrade in place from the layout before modules/ferry (ferry 1.x).
moved {
  from = module.kms
  to   = module.ferry.module.kms[0]
}

moved {
  from = module.network
  to   = module.ferry.module.network[0]
}

moved {
  from = module.storage
  to   = module.ferry.module.storage
}

moved {
  from = module.pipeline
  to   = module.ferry.module.pipeline
}

moved {
  from = module.audit
  to   = module.ferry.module.audit[0]
}

moved {
  from = aws_secretsmanager_secret.database
  to   = module.ferry.aws_secretsmanager_secret.emulator_database[0]
}
