# Offline: every AWS call is mocked. Policy documents keep their configured
# statements in the plan, so the assertions read those (the rendered JSON is
# mocked); the example's plan in tests/test_module_examples.py checks the
# real rendered JSON.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1" }
  }
}

variables {
  name_prefix = "ferry-test"
  account_id  = "111122223333"
}

run "defaults_are_secure" {
  command = plan

  assert {
    condition     = toset(keys(aws_kms_key.this)) == toset(["storage", "operational", "logs"])
    error_message = "one key per tier: storage, operational, logs"
  }
  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.enable_key_rotation && k.rotation_period_in_days == 365])
    error_message = "every key rotates yearly by default"
  }
  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.deletion_window_in_days == 30 && k.is_enabled && !k.multi_region])
    error_message = "keys default to the longest deletion window, enabled, single-region"
  }
  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.key_usage == "ENCRYPT_DECRYPT" && !k.bypass_policy_lockout_safety_check])
    error_message = "symmetric keys, lockout safety check kept"
  }
  assert {
    condition     = { for t, a in aws_kms_alias.this : t => a.name } == { storage = "alias/ferry-test-storage", operational = "alias/ferry-test-operational", logs = "alias/ferry-test-logs" }
    error_message = "aliases are alias/<name_prefix>-<tier>"
  }
  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.tags["ferry:tier"] != ""])
    error_message = "keys are tagged with their tier"
  }
}

run "root_administers_but_does_not_use_keys" {
  command = plan

  assert {
    condition = alltrue([
      for tier, doc in data.aws_iam_policy_document.key : length([
        for s in doc.statement : s if s.sid == "RootAdministration"
        && [for p in s.principals : toset(p.identifiers)][0] == toset(["arn:aws:iam::111122223333:root"])
        && contains(s.actions, "kms:PutKeyPolicy")
      ]) == 1
    ])
    error_message = "each key policy lets the account root administer the key"
  }
  assert {
    condition = alltrue(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [
        for s in doc.statement : s.sid != "RootAdministration" || length(setintersection(s.actions, ["kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:ReEncrypt*"])) == 0
      ]
    ]))
    error_message = "root administration grants no kms:*, no cryptographic use and no CreateGrant"
  }
}

run "no_wildcard_principal_and_no_kms_star" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [
        for s in doc.statement : [
          for p in s.principals : !contains(p.identifiers, "*")
        ]
      ]
    ]))
    error_message = "no key policy statement has a wildcard principal"
  }
  assert {
    condition = alltrue(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [for s in doc.statement : !contains(s.actions, "kms:*")]
    ]))
    error_message = "no key policy statement grants kms:*"
  }
  assert {
    condition = alltrue(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [for s in doc.statement : s.effect == "Allow"]
    ]))
    error_message = "key policies only allow (no deny statements to reason about)"
  }
}

run "no_account_wide_use_of_data_keys" {
  command = plan

  # Before: UseThroughServices let any principal of the account whose IAM
  # policy allowed it decrypt through S3, SQS, DynamoDB, ... (root principal
  # with kms:ViaService).
  assert {
    condition = alltrue(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [
        for s in doc.statement : length(setintersection(toset(s.actions), toset(["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]))) == 0
        if anytrue([for p in s.principals : contains(p.identifiers, "arn:aws:iam::111122223333:root")])
      ]
    ]))
    error_message = "the account root (any principal IAM allows) can decrypt nothing under any key"
  }
  assert {
    condition     = length(flatten([for tier, doc in data.aws_iam_policy_document.key : [for s in doc.statement : s if s.sid == "UseThroughServices"]])) == 0
    error_message = "no account-wide use-through-services statement"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement : [for c in s.condition : toset(c.values) if c.variable == "kms:ViaService"][0]
      if s.sid == "CreateEncryptedResources"
    ][0] == toset(["lambda.eu-west-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com"])
    error_message = "creating encrypted resources encrypts only through Lambda and Secrets Manager"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement : toset(s.actions) if s.sid == "CreateEncryptedResources"
    ][0] == toset(["kms:Encrypt", "kms:GenerateDataKey"])
    error_message = "resource creation never decrypts"
  }
  assert {
    condition = alltrue(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [
        for s in doc.statement : anytrue([for c in s.condition : c.variable == "kms:CallerAccount" && toset(c.values) == toset(["111122223333"])])
        if contains(["CreateEncryptedResources", "CreateGrantsForServices"], s.sid)
      ]
    ]))
    error_message = "creation through services is limited to callers of this account"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.key["operational"].statement :
      anytrue([for c in s.condition : c.variable == "kms:GrantIsForAWSResource" && toset(c.values) == toset(["true"])])
      if s.sid == "CreateGrantsForServices"
    ])
    error_message = "grants may only be created for AWS resources"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement : [for c in s.condition : toset(c.values) if c.variable == "kms:ViaService"][0]
      if s.sid == "CreateGrantsForServices"
    ][0] == toset(["dynamodb.eu-west-1.amazonaws.com", "rds.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com"])
    error_message = "only DynamoDB, RDS and Lambda may create grants on the operational key"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.key["logs"].statement : s if s.sid == "CreateGrantsForServices"]) + length([for s in data.aws_iam_policy_document.key["storage"].statement : s if s.sid == "CreateGrantsForServices"]) == 0
    error_message = "nobody may create grants on the storage or logs key"
  }
  assert {
    condition = length(flatten([
      for tier, doc in data.aws_iam_policy_document.key : [for s in doc.statement : s if contains(["KeyUsers", "DecryptOnly", "KeyAdministrators"], s.sid)]
    ])) == 0
    error_message = "no named users or administrators unless asked for"
  }
}

run "named_administrators_replace_the_root_stand_in" {
  command = plan

  variables {
    key_administrators = ["arn:aws:iam::111122223333:role/deployer"]
  }

  assert {
    condition = alltrue([
      for tier, doc in data.aws_iam_policy_document.key : length([
        for s in doc.statement : s if s.sid == "KeyAdministrators"
        && [for p in s.principals : toset(p.identifiers)][0] == toset(["arn:aws:iam::111122223333:role/deployer"])
        && contains(s.actions, "kms:PutKeyPolicy") && !contains(s.actions, "kms:Decrypt")
      ]) == 1
    ])
    error_message = "named administrators administer every key, without cryptographic use"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.key["operational"].statement :
      [for p in s.principals : toset(p.identifiers)][0] == toset(["arn:aws:iam::111122223333:role/deployer"])
      if contains(["CreateEncryptedResources", "CreateGrantsForServices"], s.sid)
    ])
    error_message = "resource creation is the named administrators' alone"
  }
  assert {
    condition = alltrue([
      for tier, doc in data.aws_iam_policy_document.key : length([for s in doc.statement : s if s.sid == "RootAdministration"]) == 1
    ])
    error_message = "the root keeps administration (lockout safety check)"
  }
}

run "service_principals_are_scoped" {
  command = plan

  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["logs"].statement : [for c in s.condition : "${c.test} ${join(",", c.values)}" if c.variable == "kms:EncryptionContext:aws:logs:arn"][0]
      if s.sid == "CloudWatchLogs"
    ][0] == "ArnLike arn:aws:logs:eu-west-1:111122223333:log-group:*"
    error_message = "CloudWatch Logs may use the logs key only for log groups of this account and region"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["logs"].statement : [for p in s.principals : toset(p.identifiers)][0]
      if s.sid == "CloudWatchLogs"
    ][0] == toset(["logs.eu-west-1.amazonaws.com"])
    error_message = "the CloudWatch Logs principal is regional"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.key["logs"].statement :
      anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && toset(c.values) == toset(["111122223333"])]) &&
      anytrue([for c in s.condition : c.variable == "aws:SourceArn" && toset(c.values) == toset(["arn:aws:cloudtrail:*:111122223333:trail/*"])])
      if startswith(s.sid, "CloudTrail")
    ])
    error_message = "CloudTrail is scoped to trails of this account"
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.key["logs"].statement :
      anytrue([for c in s.condition : c.variable == "kms:EncryptionContext:aws:cloudtrail:arn"])
      if s.sid == "CloudTrailEncryptLogs"
    ])
    error_message = "CloudTrail encryption is scoped by the cloudtrail encryption context"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement :
      { for c in s.condition : c.variable => "${c.test} ${join(",", c.values)}" }
      if s.sid == "ServiceDeliveryIntoEncryptedQueues"
    ][0] == { "kms:EncryptionContext:aws:sqs:arn" = "ArnLike arn:aws:sqs:eu-west-1:111122223333:ferry-test-*" }
    error_message = "services deliver into this deployment's encrypted queues, scoped by the SQS encryption context and nothing else (no source conditions)"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement :
      { for c in s.condition : c.variable => "${c.test} ${join(",", c.values)}" }
      if s.sid == "ServiceDeliveryIntoEncryptedTopics"
    ][0] == { "kms:EncryptionContext:aws:sns:topicArn" = "ArnLike arn:aws:sns:eu-west-1:111122223333:ferry-test-*" }
    error_message = "services deliver into this deployment's encrypted topics, scoped by the SNS encryption context and nothing else (no source conditions)"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement : [for p in s.principals : toset(p.identifiers)][0]
      if s.sid == "ServiceDeliveryIntoEncryptedQueues"
    ][0] == toset(["s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"])
    error_message = "S3, SNS and EventBridge write into encrypted queues"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["operational"].statement : [for p in s.principals : toset(p.identifiers)][0]
      if s.sid == "ServiceDeliveryIntoEncryptedTopics"
    ][0] == toset(["events.amazonaws.com", "cloudwatch.amazonaws.com"])
    error_message = "EventBridge and CloudWatch alarms write into encrypted topics"
  }
  assert {
    condition = length(flatten([
      for s in data.aws_iam_policy_document.key["storage"].statement : [for p in s.principals : p if p.type == "Service"]
    ])) == 0
    error_message = "no service principal acts on the storage key on its own behalf"
  }
}

run "key_users_are_added_to_their_tier_only" {
  command = plan

  variables {
    key_users = {
      storage = ["arn:aws:iam::111122223333:role/ferry-test-processor"]
    }
    key_decrypt_only_users = {
      storage = ["arn:aws:iam::111122223333:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"]
    }
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["storage"].statement : "${join(",", s.actions)} ${join(",", [for p in s.principals : join(",", p.identifiers)])}"
      if s.sid == "DecryptOnly"
    ][0] == "kms:Decrypt arn:aws:iam::111122223333:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
    error_message = "decrypt-only users get kms:Decrypt alone"
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["storage"].statement : [for p in s.principals : toset(p.identifiers)][0]
      if s.sid == "KeyUsers"
    ][0] == toset(["arn:aws:iam::111122223333:role/ferry-test-processor"])
    error_message = "key users are granted on the storage key"
  }
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.key["storage"].statement : s
      if s.sid != "DecryptOnly" && anytrue([for p in s.principals : contains(p.identifiers, "arn:aws:iam::111122223333:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie")])
    ]) == 0
    error_message = "Macie's service-linked role is named in DecryptOnly alone (no GenerateDataKey)"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.key["storage"].statement : toset(s.actions) if s.sid == "KeyUsers"
    ][0] == toset(["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"])
    error_message = "key users read and write data: Decrypt, GenerateDataKey, DescribeKey (no Encrypt, no ReEncrypt)"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.key["operational"].statement : s if s.sid == "KeyUsers"]) + length([for s in data.aws_iam_policy_document.key["logs"].statement : s if s.sid == "KeyUsers"]) == 0
    error_message = "key users of one tier get nothing on the other tiers"
  }
}

run "cloudtrail_can_be_pinned_to_named_trails" {
  command = plan

  variables {
    cloudtrail_source_arns = ["arn:aws:cloudtrail:eu-west-1:111122223333:trail/ferry-test"]
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.key["logs"].statement :
      anytrue([for c in s.condition : c.variable == "aws:SourceArn" && toset(c.values) == toset(["arn:aws:cloudtrail:eu-west-1:111122223333:trail/ferry-test"])])
      if startswith(s.sid, "CloudTrail")
    ])
    error_message = "named trails replace the account-wide trail pattern"
  }
}

run "operational_service_principals_can_be_removed" {
  command = plan

  variables {
    operational_service_principals = []
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.key["operational"].statement : s if startswith(s.sid, "ServiceDelivery")]) == 0
    error_message = "no service delivery statement when no principals are listed"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.key["operational"].statement : s if s.sid == "CreateEncryptedResources"]) == 1
    error_message = "resource creation is unaffected"
  }
}

run "rotation_and_deletion_window_are_settable" {
  command = plan

  variables {
    rotation_period_in_days = 90
    deletion_window_in_days = 7
  }

  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.enable_key_rotation && k.rotation_period_in_days == 90 && k.deletion_window_in_days == 7])
    error_message = "rotation period and deletion window follow the inputs; rotation stays on"
  }
}

run "outputs_by_tier" {
  command = apply

  assert {
    condition     = toset(keys(output.key_arns)) == toset(["storage", "operational", "logs"]) && output.storage_key_arn == output.key_arns["storage"] && output.operational_key_arn == output.key_arns["operational"] && output.logs_key_arn == output.key_arns["logs"]
    error_message = "key_arns by tier and the per-tier convenience outputs agree"
  }
  assert {
    condition     = toset(keys(output.key_ids)) == toset(["storage", "operational", "logs"]) && output.alias_names["logs"] == "alias/ferry-test-logs" && length(output.alias_arns) == 3
    error_message = "key ids, alias names and alias ARNs by tier"
  }
}
