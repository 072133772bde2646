# Plan-only tests with a mocked provider: secure defaults, the emulator
# opt-outs, and one failing run for every input validation.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::ferry-test-trail-123456789012", id = "ferry-test-trail-123456789012" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mocked" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/ferry-test-macie-findings" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:ferry-test-macie-findings" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:ferry-test-macie-findings-dlq" }
  }
}

variables {
  name_prefix          = "ferry-test"
  account_id           = "123456789012"
  logs_kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/33333333-3333-3333-3333-333333333333"
  findings_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
  data_event_bucket_arns = [
    "arn:aws:s3:::ferry-test-raw",
    "arn:aws:s3:::ferry-test-processed",
    "arn:aws:s3:::ferry-test-failed",
  ]
  macie_bucket_names     = ["ferry-test-raw", "ferry-test-failed"]
  access_log_bucket_name = "ferry-test-access-logs"
}

run "trail_defaults_are_secure" {
  command = plan

  assert {
    condition     = aws_cloudtrail.this[0].is_multi_region_trail && aws_cloudtrail.this[0].include_global_service_events
    error_message = "the trail must cover every region and global services"
  }
  assert {
    condition     = aws_cloudtrail.this[0].enable_log_file_validation
    error_message = "log file integrity validation must be on"
  }
  assert {
    condition     = aws_cloudtrail.this[0].kms_key_id == var.logs_kms_key_arn
    error_message = "log files must be encrypted with the logs key"
  }
  assert {
    condition     = aws_cloudtrail.this[0].enable_logging
    error_message = "the trail must be logging by default"
  }
  assert {
    condition     = aws_cloudtrail.this[0].cloud_watch_logs_group_arn == "arn:aws:logs:eu-west-1:123456789012:log-group:mocked:*"
    error_message = "the trail must deliver into its CloudWatch log group"
  }
  assert {
    condition     = aws_cloudtrail.this[0].name == "ferry-test-trail" && aws_cloudtrail.this[0].s3_bucket_name == "ferry-test-trail-123456789012"
    error_message = "the trail must write into its own bucket"
  }
  assert {
    condition = anytrue([
      for s in aws_cloudtrail.this[0].advanced_event_selector : anytrue([for f in s.field_selector : f.field == "eventCategory" && try(contains(f.equals, "Management"), false)])
    ])
    error_message = "management events must be recorded"
  }
  assert {
    condition = anytrue([
      for s in aws_cloudtrail.this[0].advanced_event_selector :
      anytrue([for f in s.field_selector : f.field == "resources.type" && try(contains(f.equals, "AWS::S3::Object"), false)]) &&
      anytrue([for f in s.field_selector : f.field == "resources.ARN" && try(toset(f.starts_with), null) == toset(["arn:aws:s3:::ferry-test-raw/", "arn:aws:s3:::ferry-test-processed/", "arn:aws:s3:::ferry-test-failed/"])])
    ])
    error_message = "S3 object-level data events must be recorded for exactly the data buckets"
  }
  assert {
    condition     = local.trail_arn == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/ferry-test-trail"
    error_message = "the trail ARN used in policies must match the trail's real ARN"
  }
  assert {
    condition     = length(terraform_data.organisation_managed) == 0
    error_message = "no organisation record when ferry creates trail and Macie"
  }
}

run "trail_bucket_is_locked_down" {
  command = plan

  assert {
    condition     = module.trail_bucket[0].settings.kind == "standard" && module.trail_bucket[0].settings.force_destroy == false && output.trail_bucket_name == "ferry-test-trail-123456789012"
    error_message = "the trail bucket is a standard hardened bucket named after the account and never force-destroyed"
  }
  assert {
    condition     = module.trail_bucket[0].settings.versioning_status == "Enabled"
    error_message = "the trail bucket must be versioned"
  }
  assert {
    condition = alltrue([
      module.trail_bucket[0].settings.block_public_acls, module.trail_bucket[0].settings.block_public_policy,
      module.trail_bucket[0].settings.ignore_public_acls, module.trail_bucket[0].settings.restrict_public_buckets,
    ])
    error_message = "all public access must be blocked"
  }
  assert {
    condition     = module.trail_bucket[0].settings.object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled"
  }
  assert {
    condition     = module.trail_bucket[0].settings.sse_algorithm == "aws:kms" && module.trail_bucket[0].settings.kms_master_key_id == var.logs_kms_key_arn
    error_message = "the trail bucket must default to SSE-KMS with the logs key"
  }
  assert {
    condition     = module.trail_bucket[0].settings.bucket_key_enabled == false
    error_message = "no S3 Bucket Key on the trail bucket: it would replace the trail's encryption context"
  }
  assert {
    condition     = module.trail_bucket[0].settings.lifecycle == { current_expiration_days = 730, noncurrent_expiration_days = 30, abort_incomplete_multipart_days = 7 }
    error_message = "log files expire after the retention, incomplete uploads after a week"
  }
  assert {
    condition     = module.trail_bucket[0].settings.access_log_target == "ferry-test-access-logs" && module.trail_bucket[0].settings.access_log_prefix == "ferry-test-trail-123456789012/"
    error_message = "server access logs of the trail bucket go to the access-log bucket"
  }
  assert {
    condition     = module.trail_bucket[0].settings.bucket_policy_attached
    error_message = "the trail bucket has its policy (TLS only, SSE-KMS only, CloudTrail delivery)"
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.trail_delivery.statement :
      s.sid == "DenyDeletingLogFiles" && s.effect == "Deny" && toset(s.actions) == toset(["s3:DeleteObject", "s3:DeleteObjectVersion"]) &&
      anytrue([for p in s.principals : p.type == "AWS" && contains(p.identifiers, "*")])
    ])
    error_message = "deleting log files must be denied for everyone"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.trail_delivery.statement :
      anytrue([for c in s.condition : c.variable == "aws:SourceArn" && contains(c.values, local.trail_arn) && length(c.values) == 1])
      if s.effect == "Allow"
    ])
    error_message = "every Allow in the trail bucket policy must be limited to this trail (aws:SourceArn)"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.trail_delivery.statement :
      alltrue([for p in s.principals : p.type == "Service" && p.identifiers == toset(["cloudtrail.amazonaws.com"])])
      if s.effect == "Allow"
    ])
    error_message = "only cloudtrail.amazonaws.com may be allowed into the trail bucket"
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.trail_delivery.statement : tolist(s.actions) if s.effect == "Allow"
    ])) == toset(["s3:GetBucketAcl", "s3:PutObject"])
    error_message = "CloudTrail gets GetBucketAcl and PutObject, nothing else"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.trail_delivery.statement :
      alltrue([for r in s.resources : startswith(r, "arn:aws:s3:::ferry-test-trail-123456789012")])
    ])
    error_message = "the delivery statements name the trail bucket, built from the naming rule"
  }
  assert {
    condition     = aws_cloudwatch_log_group.trail[0].retention_in_days == 365 && aws_cloudwatch_log_group.trail[0].kms_key_id == var.logs_kms_key_arn
    error_message = "the trail log group must have a retention and the logs key"
  }
  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.trail_assume.statement[0].condition :
      c.variable == "aws:SourceAccount" && contains(c.values, var.account_id)
    ])
    error_message = "the CloudTrail delivery role trust must be scoped with aws:SourceAccount"
  }
  assert {
    condition     = data.aws_iam_policy_document.trail_logs[0].statement[0].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/cloudtrail/ferry-test-trail:log-stream:*"])
    error_message = "the delivery role may only write into the trail's log group"
  }
}

run "macie_defaults" {
  command = plan

  assert {
    condition     = aws_macie2_account.this[0].status == "ENABLED" && aws_macie2_account.this[0].finding_publishing_frequency == "FIFTEEN_MINUTES"
    error_message = "Macie must be enabled, publishing finding updates every 15 minutes"
  }
  assert {
    condition     = output.macie_service_role_arn == "arn:aws:iam::123456789012:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie" && length(output.created_macie_service_role_arns) == 1
    error_message = "the created role is named by its well-known ARN (known at plan time), and given for the key policy's order"
  }
  assert {
    condition     = aws_iam_service_linked_role.macie[0].aws_service_name == "macie.amazonaws.com"
    error_message = "Macie's service-linked role is created so key policies can name it"
  }
  assert {
    condition     = aws_macie2_classification_job.this[0].job_type == "SCHEDULED" && aws_macie2_classification_job.this[0].schedule_frequency[0].daily_schedule == true
    error_message = "the classification job must run daily by default"
  }
  assert {
    condition     = aws_macie2_classification_job.this[0].s3_job_definition[0].bucket_definitions[0].buckets == tolist(["ferry-test-raw", "ferry-test-failed"]) && aws_macie2_classification_job.this[0].s3_job_definition[0].bucket_definitions[0].account_id == "123456789012"
    error_message = "the job must scan the raw and failed buckets of this account"
  }
  assert {
    condition     = aws_macie2_classification_job.this[0].sampling_percentage == 100
    error_message = "every object is analysed by default"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.findings.event_pattern) == { source = ["aws.macie"], "detail-type" = ["Macie Finding"] }
    error_message = "the rule must match Macie findings"
  }
  assert {
    condition     = aws_sns_topic.findings[0].kms_master_key_id == var.findings_kms_key_arn
    error_message = "the findings topic must be encrypted with the given key"
  }
  assert {
    condition     = length(aws_sns_topic_subscription.findings_email) == 0
    error_message = "no subscriptions unless addresses are given"
  }
  assert {
    condition     = aws_cloudwatch_event_target.findings_topic.arn == aws_sns_topic.findings[0].arn && aws_cloudwatch_event_target.findings_logs.arn == aws_cloudwatch_log_group.findings.arn
    error_message = "findings must go to the topic and the log group"
  }
  assert {
    condition     = startswith(aws_cloudwatch_log_group.findings.name, "/aws/events/") && aws_cloudwatch_log_group.findings.kms_key_id == var.logs_kms_key_arn && aws_cloudwatch_log_group.findings.retention_in_days == 365
    error_message = "the findings log group must be under /aws/events/, encrypted, with a retention"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.findings_logs.statement :
      s.resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/events/ferry-test/macie-findings:*"]) &&
      alltrue([for p in s.principals : p.identifiers == toset(["events.amazonaws.com", "delivery.logs.amazonaws.com"])])
    ])
    error_message = "the log resource policy must let EventBridge write into the findings group only"
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.findings_topic[0].statement :
      s.effect == "Allow" && contains(s.actions, "sns:Publish") &&
      anytrue([for c in s.condition : c.variable == "aws:SourceArn" && contains(c.values, "arn:aws:events:eu-west-1:123456789012:rule/ferry-test-macie-findings")])
    ])
    error_message = "only the findings rule may publish to the topic"
  }
}

run "weekly_sampled_scan" {
  command = plan

  variables {
    macie_schedule                     = "weekly"
    macie_weekly_day                   = "SUNDAY"
    macie_sampling_percentage          = 25
    macie_finding_publishing_frequency = "ONE_HOUR"
    trail_bucket_retention_days        = 2557
    trail_log_retention_days           = 731
    notification_emails                = ["security@example.com"]
  }

  assert {
    condition     = aws_sns_topic_subscription.findings_email["security@example.com"].protocol == "email"
    error_message = "findings addresses must be subscribed to the topic"
  }

  assert {
    condition     = aws_macie2_classification_job.this[0].schedule_frequency[0].weekly_schedule == "SUNDAY" && aws_macie2_classification_job.this[0].sampling_percentage == 25
    error_message = "a weekly, sampled schedule must pass through"
  }
  assert {
    condition     = aws_macie2_account.this[0].finding_publishing_frequency == "ONE_HOUR"
    error_message = "the publishing frequency must pass through"
  }
  assert {
    condition     = module.trail_bucket[0].settings.lifecycle.current_expiration_days == 2557 && aws_cloudwatch_log_group.trail[0].retention_in_days == 731
    error_message = "longer retentions must pass through"
  }
}

run "emulator_opt_outs" {
  command = plan

  variables {
    trail_logging_enabled            = false
    macie_classification_job_enabled = false
    create_macie_account             = false
    create_macie_service_linked_role = false
    macie_bucket_names               = []
    access_log_bucket_name           = null
  }

  assert {
    condition     = !aws_cloudtrail.this[0].enable_logging
    error_message = "trail logging must be switchable off"
  }
  assert {
    condition     = length(aws_macie2_classification_job.this) == 0 && length(aws_macie2_account.this) == 0 && length(aws_iam_service_linked_role.macie) == 0
    error_message = "Macie resources must be switchable off"
  }
  assert {
    condition     = output.macie_service_role_arn == "arn:aws:iam::123456789012:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
    error_message = "an existing Macie role is named by its well-known ARN"
  }
  assert {
    condition     = module.trail_bucket[0].settings.access_log_target == null
    error_message = "no access-log bucket, no logging resource"
  }
  assert {
    condition     = aws_cloudtrail.this[0].enable_log_file_validation && aws_cloudtrail.this[0].kms_key_id == var.logs_kms_key_arn
    error_message = "opt-outs never touch encryption or integrity validation"
  }
  assert {
    condition     = aws_sns_topic.findings[0].kms_master_key_id == var.findings_kms_key_arn
    error_message = "finding routing stays in place"
  }
}

run "rejects_bad_name_prefix" {
  command = plan
  variables { name_prefix = "ferry_" }
  expect_failures = [var.name_prefix]
}

run "rejects_bad_account_id" {
  command = plan
  variables { account_id = "abcdefghijkl" }
  expect_failures = [var.account_id]
}

run "rejects_logs_key_alias" {
  command = plan
  variables { logs_kms_key_arn = "alias/aws/cloudtrail" }
  expect_failures = [var.logs_kms_key_arn]
}

run "rejects_bad_findings_key" {
  command = plan
  variables { findings_kms_key_arn = "alias/aws/sns" }
  expect_failures = [var.findings_kms_key_arn]
}

run "rejects_no_data_event_buckets" {
  command = plan
  variables { data_event_bucket_arns = [] }
  expect_failures = [var.data_event_bucket_arns]
}

run "rejects_wildcard_data_event_arn" {
  command = plan
  variables { data_event_bucket_arns = ["arn:aws:s3:::ferry-test-raw/*"] }
  expect_failures = [var.data_event_bucket_arns]
}

run "rejects_bad_macie_bucket_name" {
  command = plan
  variables { macie_bucket_names = ["Ferry_Raw"] }
  expect_failures = [var.macie_bucket_names]
}

run "rejects_job_without_buckets" {
  command = plan
  variables { macie_bucket_names = [] }
  expect_failures = [var.macie_bucket_names]
}

run "rejects_bad_access_log_bucket" {
  command = plan
  variables { access_log_bucket_name = "arn:aws:s3:::logs" }
  expect_failures = [var.access_log_bucket_name]
}

run "rejects_short_trail_log_retention" {
  command = plan
  variables { trail_log_retention_days = 30 }
  expect_failures = [var.trail_log_retention_days]
}

run "rejects_short_trail_bucket_retention" {
  command = plan
  variables { trail_bucket_retention_days = 90 }
  expect_failures = [var.trail_bucket_retention_days]
}

run "rejects_bad_publishing_frequency" {
  command = plan
  variables { macie_finding_publishing_frequency = "HOURLY" }
  expect_failures = [var.macie_finding_publishing_frequency]
}

run "rejects_bad_schedule" {
  command = plan
  variables { macie_schedule = "monthly" }
  expect_failures = [var.macie_schedule]
}

run "rejects_bad_weekly_day" {
  command = plan
  variables { macie_weekly_day = "Monday" }
  expect_failures = [var.macie_weekly_day]
}

run "rejects_bad_sampling_percentage" {
  command = plan
  variables { macie_sampling_percentage = 0 }
  expect_failures = [var.macie_sampling_percentage]
}

run "rejects_bad_findings_email" {
  command = plan
  variables { notification_emails = ["security team"] }
  expect_failures = [var.notification_emails]
}

run "rejects_short_findings_retention" {
  command = plan
  variables { findings_log_retention_days = 14 }
  expect_failures = [var.findings_log_retention_days]
}

run "trail_names_are_known_at_plan_time" {
  command = plan

  assert {
    condition = (
      output.trail_arn == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/ferry-test-trail"
      && output.trail_name == "ferry-test-trail"
      && output.trail_bucket_arn == "arn:aws:s3:::ferry-test-trail-123456789012"
    )
    error_message = "trail outputs follow the naming rule from the inputs alone"
  }
}

# The policies and the findings target name ARNs built from the names this
# module gives, so the plan review reads them when the topic, queue, rule and
# log groups are created in the same plan (their ARNs known only after apply).
run "policies_known_at_plan_time" {
  command = plan

  override_resource {
    target          = aws_sns_topic.findings[0]
    override_during = apply
  }
  override_resource {
    target          = aws_sqs_queue.findings_dlq
    override_during = apply
  }
  override_resource {
    target          = aws_cloudwatch_event_rule.findings
    override_during = apply
  }
  override_resource {
    target          = aws_cloudwatch_log_group.findings
    override_during = apply
  }
  override_resource {
    target          = aws_cloudwatch_log_group.trail[0]
    override_during = apply
  }

  assert {
    condition     = aws_cloudwatch_event_target.findings_topic.arn == "arn:aws:sns:eu-west-1:123456789012:ferry-test-macie-findings" && output.findings_topic_arn == aws_cloudwatch_event_target.findings_topic.arn
    error_message = "the findings target names the topic by its built ARN"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.findings_topic[0].statement :
      s.resources == toset(["arn:aws:sns:eu-west-1:123456789012:ferry-test-macie-findings"])
      && alltrue([for c in s.condition : c.values == tolist(["arn:aws:events:eu-west-1:123456789012:rule/ferry-test-macie-findings"]) if c.variable == "aws:SourceArn"])
    ])
    error_message = "the topic policy names the topic and the findings rule by their built ARNs"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.findings_dlq.statement :
      s.resources == toset(["arn:aws:sqs:eu-west-1:123456789012:ferry-test-macie-findings-dlq"])
      && alltrue([for c in s.condition : c.values == tolist(["arn:aws:events:eu-west-1:123456789012:rule/ferry-test-macie-findings"]) if c.variable == "aws:SourceArn"])
    ])
    error_message = "the dead-letter queue policy names the queue and the findings rule by their built ARNs"
  }
  assert {
    condition     = data.aws_iam_policy_document.findings_logs.statement[0].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/events/ferry-test/macie-findings:*"])
    error_message = "the findings log policy names the log group by its built ARN"
  }
  assert {
    condition     = data.aws_iam_policy_document.trail_logs[0].statement[0].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/cloudtrail/ferry-test-trail:log-stream:*"])
    error_message = "the trail's delivery role policy names the log group by its built ARN"
  }
}

run "organisation_trail" {
  command = plan

  variables {
    create_trail           = false
    data_event_bucket_arns = []
    access_log_bucket_name = null
  }

  assert {
    condition = (
      length(aws_cloudtrail.this) == 0 && length(module.trail_bucket) == 0 && length(aws_cloudwatch_log_group.trail) == 0
      && length(aws_iam_role.trail) == 0 && length(aws_iam_role_policy.trail) == 0
    )
    error_message = "no trail, trail bucket, trail log group or delivery role"
  }
  assert {
    condition = (
      output.trail_arn == null && output.trail_name == null && output.trail_bucket_name == null && output.trail_bucket_arn == null
      && output.trail_log_group_name == null && output.trail_role_arn == null
    )
    error_message = "trail outputs are null"
  }
  assert {
    condition     = length(aws_macie2_classification_job.this) == 1 && length(aws_sns_topic.findings) == 1
    error_message = "Macie and the findings route are untouched"
  }
  assert {
    condition     = terraform_data.organisation_managed[0].input == { cloudtrail = "organisation", macie = "ferry" }
    error_message = "the plan records that the organisation runs the trail"
  }
}

run "organisation_macie" {
  command = plan

  variables {
    create_macie       = false
    macie_bucket_names = []
  }

  assert {
    condition     = length(aws_macie2_account.this) == 0 && length(aws_iam_service_linked_role.macie) == 0 && length(aws_macie2_classification_job.this) == 0
    error_message = "no Macie account, service-linked role or classification job"
  }
  assert {
    condition     = output.macie_service_role_arn == "arn:aws:iam::123456789012:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie" && length(output.created_macie_service_role_arns) == 0 && output.classification_job_id == null && output.macie_account_id == null
    error_message = "the role the organisation's Macie uses in this account is still named, for the storage key"
  }
  assert {
    condition     = aws_cloudwatch_event_target.findings_topic.arn == aws_sns_topic.findings[0].arn && aws_cloudwatch_event_target.findings_logs.arn == aws_cloudwatch_log_group.findings.arn
    error_message = "findings published in this account still reach SNS and Logs"
  }
  assert {
    condition     = length(aws_cloudtrail.this) == 1
    error_message = "the trail is untouched"
  }
  assert {
    condition     = terraform_data.organisation_managed[0].input == { cloudtrail = "ferry", macie = "organisation" }
    error_message = "the plan records that the organisation runs Macie, for the plan review"
  }
}

run "existing_findings_topic" {
  command = plan

  variables {
    existing_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:security-findings"
    findings_kms_key_arn   = null
  }

  assert {
    condition     = length(aws_sns_topic.findings) == 0 && length(aws_sns_topic_policy.findings) == 0 && length(aws_sns_topic_subscription.findings_email) == 0
    error_message = "no topic, topic policy or subscription is created"
  }
  assert {
    condition     = aws_cloudwatch_event_target.findings_topic.arn == var.existing_sns_topic_arn && output.findings_topic_arn == var.existing_sns_topic_arn
    error_message = "findings go to the existing topic"
  }
}

run "multi_region_keys_are_accepted" {
  command = plan

  variables {
    logs_kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/mrk-33333333333333333333333333333333"
    findings_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/mrk-22222222222222222222222222222222"
  }

  assert {
    condition     = aws_cloudtrail.this[0].kms_key_id == var.logs_kms_key_arn && aws_sns_topic.findings[0].kms_master_key_id == var.findings_kms_key_arn
    error_message = "multi-Region keys are used like single-Region ones"
  }
}

run "rejects_topic_without_key" {
  command = plan
  variables { findings_kms_key_arn = null }
  expect_failures = [var.findings_kms_key_arn]
}

run "rejects_bad_existing_topic" {
  command = plan
  variables { existing_sns_topic_arn = "security-findings" }
  expect_failures = [var.existing_sns_topic_arn]
}

run "rejects_emails_for_an_existing_topic" {
  command = plan
  variables {
    existing_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:security-findings"
    notification_emails    = ["security@example.com"]
  }
  expect_failures = [var.notification_emails]
}

run "rejects_short_mrk_logs_key" {
  command = plan
  variables { logs_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234" }
  expect_failures = [var.logs_kms_key_arn]
}

run "findings_targets_have_a_dead_letter_queue" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_event_target.findings_topic.dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:ferry-test-macie-findings-dlq" &&
      aws_cloudwatch_event_target.findings_logs.dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:ferry-test-macie-findings-dlq"
    )
    error_message = "findings EventBridge cannot deliver are kept in a dead-letter queue, not lost"
  }
  assert {
    condition     = aws_sqs_queue.findings_dlq.kms_master_key_id == var.findings_kms_key_arn && aws_sqs_queue.findings_dlq.name == "ferry-test-macie-findings-dlq"
    error_message = "the findings dead-letter queue is encrypted with the findings key and named under name_prefix (the key admits EventBridge for those queues)"
  }
  assert {
    condition = [
      for s in data.aws_iam_policy_document.findings_dlq.statement : {
        principals = [for p in s.principals : toset(p.identifiers)][0]
        condition  = [for c in s.condition : "${c.variable}=${join(",", c.values)}"][0]
      } if s.sid == "EventBridgeDeadLetters"
      ] == [{
        principals = toset(["events.amazonaws.com"])
        condition  = "aws:SourceArn=arn:aws:events:eu-west-1:123456789012:rule/ferry-test-macie-findings"
    }]
    error_message = "only the findings rule may send to its dead-letter queue"
  }
}
