# File events out: the processor and the dead-letter consumer publish every
# terminal state (FileLoaded / FileRejected / FileDeadLettered, source
# ferry.<name_prefix>; docs/events.md) to a bus this module creates or one that
# exists. Optional SNS notifications are EventBridge rules on that bus.
#
# The bus uses EventBridge's default encryption (an AWS owned key): its events
# name files and outputs, never file contents.

locals {
  events_enabled   = var.events_enabled
  create_event_bus = var.events_enabled && var.existing_event_bus == null
  event_bus_given  = var.existing_event_bus == null ? "" : var.existing_event_bus
  event_bus_is_arn = startswith(local.event_bus_given, "arn:")
  event_bus_name = (
    var.existing_event_bus == null ? "${var.name_prefix}-files" :
    local.event_bus_is_arn ? element(split("/", local.event_bus_given), 1) : local.event_bus_given
  )
  event_bus_arn = (
    local.event_bus_is_arn ? local.event_bus_given :
    "arn:${local.partition}:events:${local.region}:${var.account_id}:event-bus/${local.event_bus_name}"
  )
  # PutEvents takes the name or the ARN; the ARN reaches a bus in another account.
  event_bus_target = local.event_bus_is_arn ? local.event_bus_arn : local.event_bus_name
  event_source     = "ferry.${var.name_prefix}"

  event_environment = local.events_enabled ? {
    FERRY_EVENT_BUS    = local.event_bus_target
    FERRY_EVENT_SOURCE = local.event_source
  } : {}

  file_event_types = {
    success = ["FileLoaded"]
    failure = ["FileRejected", "FileDeadLettered"]
  }
  file_notifications = local.events_enabled ? var.file_notifications : {}
  file_notification_topics = {
    for kind, n in local.file_notifications : kind => n if n.existing_sns_topic_arn == null
  }
  file_notification_names = { for kind in keys(local.file_event_types) : kind => "${var.name_prefix}-files-${kind}" }
  # A rule on a custom bus is named <bus>/<rule> in its ARN.
  file_notification_rule_arns = {
    for kind, name in local.file_notification_names : kind => (
      local.event_bus_name == "default"
      ? "arn:${local.partition}:events:${local.region}:${var.account_id}:rule/${name}"
      : "arn:${local.partition}:events:${local.region}:${var.account_id}:rule/${local.event_bus_name}/${name}"
    )
  }
  file_notification_topic_arns = {
    for kind, n in local.file_notifications : kind => (
      n.existing_sns_topic_arn != null ? n.existing_sns_topic_arn
      : "arn:${local.partition}:sns:${local.region}:${var.account_id}:${local.file_notification_names[kind]}"
    )
  }
  file_notification_emails = merge([
    for kind, n in local.file_notification_topics : { for e in n.emails : "${kind}/${e}" => { kind = kind, email = e } }
  ]...)
}

resource "aws_cloudwatch_event_bus" "files" {
  count = local.create_event_bus ? 1 : 0

  name = local.event_bus_name
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "file_notifications" {
  for_each = local.file_notifications

  name           = local.file_notification_names[each.key]
  description    = "ferry ${join(" / ", local.file_event_types[each.key])} from ${local.event_source} -> SNS"
  event_bus_name = local.event_bus_target
  event_pattern = jsonencode({
    source        = [local.event_source]
    "detail-type" = local.file_event_types[each.key]
  })
  tags = var.tags

  depends_on = [aws_cloudwatch_event_bus.files]
}

# "Permissions for Amazon SNS" (EventBridge targets): the topic policy lets
# events.amazonaws.com publish, with aws:SourceArn = the rule,
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions.
# The topics are encrypted with the operational key, whose policy admits
# EventBridge for this deployment's topics by encryption context
# (modules/kms, ServiceDeliveryIntoEncryptedTopics; "Amazon SNS: Enable
# compatibility between event sources from AWS services and encrypted topics",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
resource "aws_sns_topic" "file_notifications" {
  for_each = local.file_notification_topics

  name              = local.file_notification_names[each.key]
  kms_master_key_id = var.operational_kms_key_arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowFileEventRule"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = local.file_notification_topic_arns[each.key]
        Condition = { ArnEquals = { "aws:SourceArn" = local.file_notification_rule_arns[each.key] } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.file_notification_topic_arns[each.key]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_sns_topic_subscription" "file_notifications" {
  for_each = local.file_notification_emails

  topic_arn = aws_sns_topic.file_notifications[each.value.kind].arn
  protocol  = "email"
  endpoint  = each.value.email
}

resource "aws_cloudwatch_event_target" "file_notifications" {
  for_each = local.file_notifications

  rule           = aws_cloudwatch_event_rule.file_notifications[each.key].name
  event_bus_name = local.event_bus_target
  target_id      = "ferry-files-${each.key}"
  arn            = local.file_notification_topic_arns[each.key]

  depends_on = [aws_sns_topic.file_notifications]
}

locals {
  # "Amazon EventBridge permissions" (PutEvents on the bus) and the events:source
  # condition key ("Using IAM policy conditions in Amazon EventBridge",
  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html).
  # events:source is multivalued (ArrayOfString in the Service Authorization
  # Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html):
  # it needs a set operator, ForAllValues with a Null check so that an entry
  # without a source is not allowed ("Single-valued vs. multivalued context keys",
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
  # A bare StringEquals never matches a multivalued key: PutEvents would be refused.
  put_file_events = {
    actions     = ["events:PutEvents"]
    resources   = [local.event_bus_arn]
    source_test = "ForAllValues:StringEquals"
  }
}
