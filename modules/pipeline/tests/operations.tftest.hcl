# Plan-only, offline: file events, notifications, dashboard, ferry's own alarms
# and the malware gate; every new input's validation bites.

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

# --- file events ---------------------------------------------------------------------

run "events_by_default_on_a_bus_of_their_own" {
  command = plan

  assert {
    condition     = aws_cloudwatch_event_bus.files[0].name == "ferry-test-files"
    error_message = "a bus named after the pipeline"
  }
  assert {
    condition = (
      aws_lambda_function.processor[0].environment[0].variables["FERRY_EVENT_BUS"] == "ferry-test-files" &&
      aws_lambda_function.processor[0].environment[0].variables["FERRY_EVENT_SOURCE"] == "ferry.ferry-test" &&
      aws_lambda_function.deadletter[0].environment[0].variables["FERRY_EVENT_BUS"] == "ferry-test-files"
    )
    error_message = "both functions publish to the bus with the pipeline's source"
  }
  assert {
    condition = (
      [for s in data.aws_iam_policy_document.processor.statement : [s.actions, s.resources] if s.sid == "PublishFileEvents"] == [[toset(["events:PutEvents"]), toset(["arn:aws:events:eu-west-1:111122223333:event-bus/ferry-test-files"])]] &&
      [for s in data.aws_iam_policy_document.processor.statement : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"] if s.sid == "PublishFileEvents"] == [["ForAllValues:StringEquals events:source ferry.ferry-test", "Null events:source false"]]
    )
    error_message = "the processor may put events on this bus only, with this source only"
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.file_notifications) == 0 && length(aws_sns_topic.file_notifications) == 0
    error_message = "no notifications unless asked for"
  }
  assert {
    condition     = output.event_bus_name == "ferry-test-files" && output.event_source == "ferry.ferry-test"
    error_message = "bus and source are outputs"
  }
}

run "events_off" {
  command = plan

  variables {
    events_enabled = false
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus.files) == 0 && !contains(keys(aws_lambda_function.processor[0].environment[0].variables), "FERRY_EVENT_BUS")
    error_message = "events off: no bus and no FERRY_EVENT_BUS"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.processor.statement : s if s.sid == "PublishFileEvents"]) == 0 && length([for s in data.aws_iam_policy_document.deadletter.statement : s if s.sid == "PublishFileEvents"]) == 0
    error_message = "events off: no events:PutEvents"
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.ferry), "file-events-refused") && output.event_bus_arn == null
    error_message = "events off: no alarm on refused events"
  }
}

run "existing_bus_by_name" {
  command = plan

  variables {
    existing_event_bus = "default"
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus.files) == 0 && output.event_bus_arn == "arn:aws:events:eu-west-1:111122223333:event-bus/default"
    error_message = "an existing bus by name: none created, its ARN in this account"
  }
}

run "existing_bus_by_arn" {
  command = plan

  variables {
    existing_event_bus = "arn:aws:events:eu-west-1:444455556666:event-bus/central"
  }

  assert {
    condition = (
      length(aws_cloudwatch_event_bus.files) == 0 &&
      aws_lambda_function.processor[0].environment[0].variables["FERRY_EVENT_BUS"] == "arn:aws:events:eu-west-1:444455556666:event-bus/central" &&
      [for s in data.aws_iam_policy_document.deadletter.statement : s.resources if s.sid == "PublishFileEvents"] == [toset(["arn:aws:events:eu-west-1:444455556666:event-bus/central"])]
    )
    error_message = "a bus by ARN (another account): PutEvents by ARN, permission on that bus"
  }
}

run "file_notifications" {
  command = plan

  variables {
    file_notifications = {
      success = { emails = ["data-team@example.com"] }
      failure = { existing_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:oncall" }
    }
  }

  override_resource {
    target          = aws_sns_topic.file_notifications
    override_during = plan
    values          = { arn = "arn:aws:sns:eu-west-1:111122223333:ferry-test-files-success" }
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.file_notifications["success"].event_pattern) == { source = ["ferry.ferry-test"], "detail-type" = ["FileLoaded"] } &&
      jsondecode(aws_cloudwatch_event_rule.file_notifications["failure"].event_pattern) == { source = ["ferry.ferry-test"], "detail-type" = ["FileRejected", "FileDeadLettered"] } &&
      aws_cloudwatch_event_rule.file_notifications["success"].event_bus_name == "ferry-test-files"
    )
    error_message = "success is FileLoaded, failure FileRejected and FileDeadLettered, from this pipeline's source on its bus"
  }
  assert {
    condition     = keys(aws_sns_topic.file_notifications) == ["success"] && aws_sns_topic.file_notifications["success"].kms_master_key_id == var.operational_kms_key_arn
    error_message = "a topic only where none is given, encrypted with the operational key"
  }
  assert {
    condition = jsondecode(aws_sns_topic.file_notifications["success"].policy).Statement[0] == {
      Sid       = "AllowFileEventRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = "arn:aws:sns:eu-west-1:111122223333:ferry-test-files-success"
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:111122223333:rule/ferry-test-files/ferry-test-files-success" } }
    }
    error_message = "only the rule (on the custom bus: rule/<bus>/<rule>) may publish to the topic"
  }
  assert {
    condition     = [for s in aws_sns_topic_subscription.file_notifications : [s.protocol, s.endpoint]] == [["email", "data-team@example.com"]]
    error_message = "e-mail subscriptions to the created topic"
  }
  assert {
    condition     = aws_cloudwatch_event_target.file_notifications["failure"].arn == "arn:aws:sns:eu-west-1:111122223333:oncall" && output.file_notification_topic_arns["failure"] == "arn:aws:sns:eu-west-1:111122223333:oncall"
    error_message = "an existing topic is the target as given"
  }
}

run "rejects_existing_event_bus_that_is_neither_name_nor_arn" {
  command = plan
  variables {
    existing_event_bus = "arn:aws:sns:eu-west-1:111122223333:topic"
  }
  expect_failures = [var.existing_event_bus]
}

run "rejects_unknown_notification_kind" {
  command = plan
  variables {
    file_notifications = { sometimes = {} }
  }
  expect_failures = [var.file_notifications]
}

run "rejects_notification_email_that_is_not_one" {
  command = plan
  variables {
    file_notifications = { failure = { emails = ["oncall"] } }
  }
  expect_failures = [var.file_notifications]
}

run "rejects_notification_emails_with_existing_topic" {
  command = plan
  variables {
    file_notifications = { failure = { emails = ["a@example.com"], existing_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:oncall" } }
  }
  expect_failures = [var.file_notifications]
}

run "rejects_notification_topic_that_is_no_topic_arn" {
  command = plan
  variables {
    file_notifications = { failure = { existing_sns_topic_arn = "oncall" } }
  }
  expect_failures = [var.file_notifications]
}

run "rejects_notifications_without_events" {
  command = plan
  variables {
    events_enabled     = false
    file_notifications = { success = {} }
  }
  expect_failures = [var.file_notifications]
}

run "rejects_ferry_event_variables_from_the_caller" {
  command = plan
  variables {
    environment_variables = { FERRY_MALWARE_GATE = "off" }
  }
  expect_failures = [var.environment_variables]
}

# --- dashboard and ferry alarms ------------------------------------------------------

run "dashboard_and_ferry_alarms_by_default" {
  command = plan

  override_resource {
    target          = aws_sns_topic.alarms
    override_during = plan
    values          = { arn = "arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms" }
  }

  assert {
    condition     = aws_cloudwatch_dashboard.pipeline[0].dashboard_name == "ferry-test-pipeline" && length(jsondecode(aws_cloudwatch_dashboard.pipeline[0].dashboard_body).widgets) == 7
    error_message = "one dashboard with the pipeline's seven widgets (no RDS without an instance id)"
  }
  assert {
    condition = alltrue([
      for title in ["Files processed and records loaded", "Rejected files by route", "Batch item failures (messages handed back for a retry)", "Age of the oldest message (s)", "Dead-letter queue depth", "Function errors and throttles", "Function duration (ms)"] :
      contains([for w in jsondecode(aws_cloudwatch_dashboard.pipeline[0].dashboard_body).widgets : w.properties.title], title)
    ])
    error_message = "throughput, rejects by route, batch item failures, oldest message, DLQ depth, errors/throttles, duration"
  }
  assert {
    condition     = strcontains(jsonencode(jsondecode(aws_cloudwatch_dashboard.pipeline[0].dashboard_body).widgets[1].properties.metrics), "{Ferry,Route,Service} MetricName=\\\"Rejects\\\" Service=\\\"ferry-test-processor\\\"")
    error_message = "rejects by route search the EMF Route dimension of this function"
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.ferry)) == toset(["rejection-rate", "batch-item-failures", "file-events-refused"])
    error_message = "ferry's own alarms: rejection rate, batch item failures, refused events"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.ferry["rejection-rate"].threshold == 25 &&
      [for q in aws_cloudwatch_metric_alarm.ferry["rejection-rate"].metric_query : q.expression if q.id == "value"] == ["IF(files >= 5, 100 * rejects / files, 0)"] &&
      toset([for q in aws_cloudwatch_metric_alarm.ferry["rejection-rate"].metric_query : q.metric[0].metric_name if q.id != "value"]) == toset(["Files", "Rejects"]) &&
      alltrue([for q in aws_cloudwatch_metric_alarm.ferry["rejection-rate"].metric_query : q.metric[0].dimensions == tomap({ Service = "ferry-test-processor" }) && q.metric[0].namespace == "Ferry" if q.id != "value"])
    )
    error_message = "rejection rate = 100 * Rejects / Files of this function's EMF metrics, from 5 files up"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.ferry["batch-item-failures"].threshold == 10 && [for q in aws_cloudwatch_metric_alarm.ferry["batch-item-failures"].metric_query : q.metric[0].metric_name if q.id != "value"] == ["BatchItemFailures"]
    error_message = "batch item failures alarm on the BatchItemFailures metric the handler emits"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.ferry : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms"])])
    error_message = "ferry alarms notify the alarm topic"
  }
  assert {
    condition     = contains(output.alarm_names, "ferry-test-rejection-rate") && output.dashboard_name == "ferry-test-pipeline"
    error_message = "alarm and dashboard names are outputs"
  }
}

run "dashboard_with_rds_and_custom_thresholds" {
  command = plan

  variables {
    dashboard_database_instance_id = "ferry-test-db"
    ferry_alarms                   = { period_seconds = 900, rejection_rate_percent = 50, rejection_min_files = 20, batch_item_failures = 0 }
    existing_sns_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:oncall"
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.pipeline[0].dashboard_body).widgets) == 9 && strcontains(aws_cloudwatch_dashboard.pipeline[0].dashboard_body, "\"DBInstanceIdentifier\",\"ferry-test-db\"")
    error_message = "with an instance id: RDS connections/CPU and free storage widgets"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.ferry["rejection-rate"].threshold == 50 &&
      aws_cloudwatch_metric_alarm.ferry["batch-item-failures"].threshold == 0 &&
      alltrue([for q in aws_cloudwatch_metric_alarm.ferry["rejection-rate"].metric_query : q.metric[0].period == 900 if q.id != "value"]) &&
      aws_cloudwatch_metric_alarm.ferry["rejection-rate"].alarm_actions == toset(["arn:aws:sns:eu-west-1:111122223333:oncall"])
    )
    error_message = "thresholds and period as given; an existing topic receives ferry's alarms"
  }
}

run "dashboard_and_alarms_off" {
  command = plan

  variables {
    dashboard_enabled = false
    create_alarms     = false
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.pipeline) == 0 && length(aws_cloudwatch_metric_alarm.ferry) == 0
    error_message = "both can be switched off"
  }
}

run "rejects_alarm_period_cloudwatch_does_not_offer" {
  command = plan
  variables {
    ferry_alarms = { period_seconds = 120 }
  }
  expect_failures = [var.ferry_alarms]
}

run "rejects_rejection_rate_above_100" {
  command = plan
  variables {
    ferry_alarms = { rejection_rate_percent = 150 }
  }
  expect_failures = [var.ferry_alarms]
}

run "rejects_fractional_min_files" {
  command = plan
  variables {
    ferry_alarms = { rejection_min_files = 0.5 }
  }
  expect_failures = [var.ferry_alarms]
}

run "rejects_negative_batch_item_failures" {
  command = plan
  variables {
    ferry_alarms = { batch_item_failures = -1 }
  }
  expect_failures = [var.ferry_alarms]
}

run "rejects_database_instance_arn_for_the_dashboard" {
  command = plan
  variables {
    dashboard_database_instance_id = "arn:aws:rds:eu-west-1:111122223333:db:ferry"
  }
  expect_failures = [var.dashboard_database_instance_id]
}

# --- malware gate --------------------------------------------------------------------

run "malware_gate_off_by_default" {
  command = plan

  assert {
    condition     = length(aws_guardduty_malware_protection_plan.raw) == 0 && length(aws_iam_role.malware) == 0 && !contains(keys(aws_lambda_function.processor[0].environment[0].variables), "FERRY_MALWARE_GATE")
    error_message = "no plan, no role, no gate unless asked for"
  }
}

run "malware_gate_on" {
  command = plan

  variables {
    malware_protection = { enabled = true }
  }

  override_resource {
    target          = aws_iam_role.malware
    override_during = plan
    values          = { arn = "arn:aws:iam::111122223333:role/ferry-test-malware-protection" }
  }
  override_resource {
    target          = aws_iam_role.processor
    override_during = plan
    values          = { arn = "arn:aws:iam::111122223333:role/ferry-test-processor" }
  }

  assert {
    condition = (
      aws_guardduty_malware_protection_plan.raw[0].protected_resource[0].s3_bucket[0].bucket_name == "ferry-test-raw" &&
      aws_guardduty_malware_protection_plan.raw[0].protected_resource[0].s3_bucket[0].object_prefixes == toset(["documents/", "incoming/telemetry/"]) &&
      aws_guardduty_malware_protection_plan.raw[0].role == "arn:aws:iam::111122223333:role/ferry-test-malware-protection" &&
      aws_guardduty_malware_protection_plan.raw[0].actions[0].tagging[0].status == "ENABLED"
    )
    error_message = "a plan on the raw bucket's routed prefixes, with its own role, tagging objects"
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.object_created[0].event_pattern) == {
      source        = ["aws.guardduty"]
      "detail-type" = ["GuardDuty Malware Protection Object Scan Result"]
      detail        = { s3ObjectDetails = { bucketName = ["ferry-test-raw"] } }
    }
    error_message = "the queue hears of scan results for the raw bucket, not of Object Created"
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.queue[0].input_transformer) == 0
    error_message = "a scan result reaches the queue as GuardDuty wrote it"
  }
  assert {
    condition     = aws_s3_bucket_notification.raw[0].eventbridge == true && length(aws_s3_bucket_notification.raw[0].queue) == 0
    error_message = "the bucket's EventBridge notifications stay on (GuardDuty needs them) and no Object Created reaches the queue directly"
  }
  assert {
    condition     = [for s in jsondecode(aws_sqs_queue.this.policy).Statement : s.Sid] == ["AllowObjectCreatedRule", "DenyInsecureTransport"]
    error_message = "only the rule may send to the queue"
  }
  assert {
    condition     = aws_lambda_function.processor[0].environment[0].variables["FERRY_MALWARE_GATE"] == "on"
    error_message = "the processor enforces the gate"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.malware_assume.statement : [for p in s.principals : p.identifiers]] == [[toset(["malware-protection-plan.guardduty.amazonaws.com"])]]
    error_message = "only GuardDuty's malware protection plans assume the role"
  }
  assert {
    condition = { for s in data.aws_iam_policy_document.malware.statement : s.sid => s.resources } == {
      AllowManagedRuleToSendS3EventsToGuardDuty     = toset(["arn:aws:events:eu-west-1:111122223333:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"])
      AllowGuardDutyToMonitorEventBridgeManagedRule = toset(["arn:aws:events:eu-west-1:111122223333:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"])
      AllowPostScanTag                              = toset(["arn:aws:s3:::ferry-test-raw/*"])
      AllowEnableS3EventBridgeEvents                = toset(["arn:aws:s3:::ferry-test-raw"])
      AllowPutValidationObject                      = toset(["arn:aws:s3:::ferry-test-raw/malware-protection-resource-validation-object"])
      AllowCheckBucketOwnership                     = toset(["arn:aws:s3:::ferry-test-raw"])
      AllowMalwareScan                              = toset(["arn:aws:s3:::ferry-test-raw/*"])
      AllowDecryptForMalwareScan                    = toset([var.storage_kms_key_arn])
    }
    error_message = "the role holds GuardDuty's documented statements, each scoped to the raw bucket, its key and GuardDuty's managed rule"
  }
  assert {
    condition     = output.key_user_role_arns.storage == tolist(["arn:aws:iam::111122223333:role/ferry-test-processor", "arn:aws:iam::111122223333:role/ferry-test-malware-protection"])
    error_message = "the storage key must let GuardDuty's role read the raw objects"
  }
}

run "malware_gate_without_tags_scans_the_whole_bucket_when_a_route_takes_every_key" {
  command = plan

  variables {
    malware_protection = { enabled = true, tag_objects = false }
    processing_config  = jsonencode({ routes = [{ name = "all", prefix = "", processor = "file_metadata" }] })
  }

  assert {
    condition     = aws_guardduty_malware_protection_plan.raw[0].actions[0].tagging[0].status == "DISABLED" && local.malware_prefixes == null
    error_message = "tagging off as asked; a route for every key means no prefix filter"
  }
}
