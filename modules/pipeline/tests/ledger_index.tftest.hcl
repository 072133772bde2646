# Plan-only, offline: the ledger's status-and-time index that `ferry ls` and
# `ferry summary` query (never a Scan), and its switch.

mock_provider "aws" {
  source = "./tests/mocks"
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

run "status_index_by_default" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.ledger.hash_key == "ledger_id" && aws_dynamodb_table.ledger.range_key == null
    error_message = "the ledger keeps its key schema (a new key would replace the table)"
  }
  assert {
    condition = anytrue([
      for g in aws_dynamodb_table.ledger.global_secondary_index :
      g.name == "status-time" && g.hash_key == "status_day" && g.range_key == "status_at" && g.projection_type == "INCLUDE"
    ])
    error_message = "the ledger must have the status-time index keyed on status_day and status_at"
  }
  assert {
    condition = alltrue([
      for a in ["status", "bucket", "key", "version_id", "route", "reason", "attempt", "counts"] :
      contains(one(aws_dynamodb_table.ledger.global_secondary_index).non_key_attributes, a)
    ])
    error_message = "the index must project what ferry ls and ferry summary show"
  }
  assert {
    condition     = !contains(one(aws_dynamodb_table.ledger.global_secondary_index).non_key_attributes, "history")
    error_message = "the index must not project the (growing) attempt history"
  }
  assert {
    condition = toset([for a in aws_dynamodb_table.ledger.attribute : "${a.name}:${a.type}"]) == toset(
      ["ledger_id:S", "status_day:S", "status_at:S"]
    )
    error_message = "the index keys must be declared as string attributes"
  }
  assert {
    condition     = output.ledger_status_index_name == "status-time"
    error_message = "the index name must be an output (ferry reads it from the outputs)"
  }
}

run "status_index_can_be_switched_off" {
  command = plan

  variables {
    ledger_status_index = false
  }

  assert {
    condition     = length(aws_dynamodb_table.ledger.global_secondary_index) == 0
    error_message = "ledger_status_index = false must leave the ledger without an index"
  }
  assert {
    condition     = [for a in aws_dynamodb_table.ledger.attribute : a.name] == ["ledger_id"]
    error_message = "without the index only the table key is declared"
  }
  assert {
    condition     = output.ledger_status_index_name == null
    error_message = "without the index the output is null"
  }
}
