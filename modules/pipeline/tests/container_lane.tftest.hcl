# Plan-only, offline: the container lane's hand-off (modules/container): environment and permission.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name_prefix             = "ferry-test"
  account_id              = "111122223333"
  storage_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111"
  operational_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/22222222-2222-2222-2222-222222222222"
  logs_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-3333-3333-333333333333"
  processing_config       = file("tests/processing.json")
  bucket_names = {
    raw       = "ferry-test-raw"
    processed = "ferry-test-processed"
    failed    = "ferry-test-failed"
  }
  subnet_ids         = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  security_group_ids = ["sg-0a1b2c3d4e5f60003"]
  package_path       = "build/ferry-x86_64.zip"
  package_sha256     = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}


run "no_container_lane_by_default" {
  command = plan

  assert {
    condition     = !contains(keys(aws_lambda_function.processor[0].environment[0].variables), "FERRY_STATE_MACHINE_ARN")
    error_message = "without a container lane the function must not know a state machine"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.processor.statement : s if s.sid == "HandOffLargeFiles"]) == 0
    error_message = "without a container lane the function must not start executions"
  }
}

run "container_lane_hand_off" {
  command = plan

  variables {
    container_lane = { state_machine_arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:ferry-test-large-files", lease_seconds = 15000 }
  }

  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["FERRY_STATE_MACHINE_ARN"] == var.container_lane.state_machine_arn && aws_lambda_function.processor[0].environment[0].variables["FERRY_CONTAINER_LEASE_SECONDS"] == "15000"
    error_message = "the function must know the state machine and the hand-off lease"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.processor.statement : { actions = s.actions, resources = s.resources } if s.sid == "HandOffLargeFiles"
      ] == [{
        actions   = toset(["states:StartExecution"])
        resources = toset(["arn:aws:states:eu-west-1:111122223333:stateMachine:ferry-test-large-files"])
    }]
    error_message = "the function may start executions of that state machine only"
  }
}

run "rejects_a_state_machine_that_is_not_an_arn" {
  command = plan

  variables {
    container_lane = { state_machine_arn = "ferry-test-large-files" }
  }

  expect_failures = [var.container_lane]
}

run "rejects_a_short_lease" {
  command = plan

  variables {
    container_lane = { state_machine_arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:ferry-test-large-files", lease_seconds = 30 }
  }

  expect_failures = [var.container_lane]
}
