# Plan-only, offline: the large-file lane is off by default, and switched on it is
# wired to the pipeline, the keys and the network.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name_prefix            = "ferry-test"
  account_id             = "111122223333"
  package_path           = "build/processor.zip"
  package_sha256         = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  processing_config_path = "../../lambda_src/config/ferry.json"
  network                = { availability_zones = ["eu-west-1a", "eu-west-1b"] }
}

run "container_lane_is_off_by_default" {
  command = plan

  assert {
    condition     = length(module.container) == 0 && output.container_lane == null
    error_message = "the container lane must be off by default"
  }
  assert {
    condition     = !contains(keys(module.pipeline.function_environment), "FERRY_STATE_MACHINE_ARN")
    error_message = "without the lane the function hands nothing off"
  }
}

run "container_lane_on" {
  command = plan

  variables {
    create_container_lane = true
    container_lane = {
      image                = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      cpu                  = 2048
      memory               = 8192
      task_timeout_seconds = 1800
      task_max_attempts    = 2
      eventbridge_start    = { enabled = true, prefixes = ["incoming/orders/"], min_size_bytes = 1073741824 }
    }
  }

  assert {
    condition     = length(module.container) == 1
    error_message = "create_container_lane must create the lane"
  }
  assert {
    condition     = module.pipeline.function_environment["FERRY_STATE_MACHINE_ARN"] == module.container[0].state_machine_arn && module.pipeline.function_environment["FERRY_CONTAINER_LEASE_SECONDS"] == tostring(3 * 1800 + 30 + 60 + 300)
    error_message = "the function must hand off to the lane's state machine, with a lease that covers every attempt"
  }
  assert {
    condition     = output.container_lane.state_machine_arn == "arn:aws:states:eu-west-1:111122223333:stateMachine:ferry-test-large-files"
    error_message = "the lane's resources must be in the outputs"
  }
  assert {
    condition     = length(module.container[0].start_rule_arn) > 0 && length(module.container[0].start_retry_queue_arn) > 0
    error_message = "the EventBridge start must reach the lane"
  }
}

run "container_lane_task_uses_iam_database_auth_and_no_secret" {
  command = plan

  variables {
    create_container_lane = true
    container_lane        = { image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
  }

  assert {
    condition     = jsondecode(module.container[0].task_definition_container_definitions)[0].secrets == []
    error_message = "with the RDS instance the task logs in with IAM database authentication, no secret"
  }
  assert {
    condition     = contains([for e in jsondecode(module.container[0].task_definition_container_definitions)[0].environment : "${e.name}=${e.value}"], "FERRY_DB_AUTH=iam")
    error_message = "the task must get the function's database settings"
  }
}

run "container_lane_with_an_existing_database_gets_its_secret_from_ecs" {
  command = plan

  variables {
    create_container_lane = true
    container_lane        = { image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
    existing_database     = { host = "db.example.internal", port = 5432, name = "ferry", secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry/db-AbCdEf" }
  }

  assert {
    condition     = jsondecode(module.container[0].task_definition_container_definitions)[0].secrets == [{ name = "FERRY_DB_SECRET", valueFrom = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry/db-AbCdEf" }]
    error_message = "the database secret must be injected by ECS"
  }
  assert {
    condition     = !contains([for e in jsondecode(module.container[0].task_definition_container_definitions)[0].environment : e.name], "FERRY_DB_SECRET_ARN")
    error_message = "the task must not be told to read the secret itself"
  }
}

run "existing_state_machine" {
  command = plan

  variables {
    existing_container_state_machine_arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:shared-large-files"
  }

  assert {
    condition     = length(module.container) == 0 && module.pipeline.function_environment["FERRY_STATE_MACHINE_ARN"] == var.existing_container_state_machine_arn
    error_message = "an existing state machine must be handed the objects, and no lane created"
  }
}

run "container_lane_needs_an_image" {
  command = plan

  variables {
    create_container_lane = true
  }

  expect_failures = [var.container_lane]
}

run "container_lane_once" {
  command = plan

  variables {
    create_container_lane                = true
    container_lane                       = { image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/ferry@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
    existing_container_state_machine_arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:shared-large-files"
  }

  expect_failures = [var.existing_container_state_machine_arn]
}

run "existing_state_machine_is_validated" {
  command = plan

  variables {
    existing_container_state_machine_arn = "shared-large-files"
  }

  expect_failures = [var.existing_container_state_machine_arn]
}
