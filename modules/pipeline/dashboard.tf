# The operator's view: one CloudWatch dashboard, and alarms on the metrics the
# processor emits itself (EMF, ferry.obs; namespace FERRY_METRICS_NAMESPACE,
# dimension Service = the function's name).

locals {
  metrics_namespace = lookup(var.environment_variables, "FERRY_METRICS_NAMESPACE", "Ferry")
  period            = var.ferry_alarms.period_seconds

  dashboard_widgets = concat(
    [
      {
        title = "Files processed and records loaded"
        metrics = [
          [local.metrics_namespace, "Files", "Service", local.names.function, { stat = "Sum", label = "files" }],
          [local.metrics_namespace, "Records", "Service", local.names.function, { stat = "Sum", label = "records", yAxis = "right" }],
          ["AWS/SQS", "NumberOfMessagesSent", "QueueName", local.names.queue, { stat = "Sum", label = "messages in" }],
        ]
      },
      {
        title = "Rejected files by route"
        metrics = [[{
          expression = "SEARCH('{${local.metrics_namespace},Route,Service} MetricName=\"Rejects\" Service=\"${local.names.function}\"', 'Sum', ${local.period})"
          id         = "rejects"
          label      = "" # each line is named by its route
        }]]
      },
      {
        title = "Batch item failures (messages handed back for a retry)"
        metrics = [
          [local.metrics_namespace, "BatchItemFailures", "Service", local.names.function, { stat = "Sum", label = "batch item failures" }],
          [local.metrics_namespace, "BadMessages", "Service", local.names.function, { stat = "Sum", label = "unreadable messages" }],
          [local.metrics_namespace, "EventsNotPublished", "Service", local.names.function, { stat = "Sum", label = "file events refused" }],
        ]
      },
      {
        title = "Age of the oldest message (s)"
        metrics = [
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.names.queue, { stat = "Maximum", label = "ingest queue" }],
        ]
        annotations = { horizontal = [{ label = "alarm", value = var.queue_age_alarm_seconds }] }
      },
      {
        title = "Dead-letter queue depth"
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.names.dlq, { stat = "Maximum", label = "visible" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", local.names.dlq, { stat = "Maximum", label = "in flight" }],
        ]
      },
      {
        title = "Function errors and throttles"
        metrics = [
          ["AWS/Lambda", "Errors", "FunctionName", local.names.function, { stat = "Sum", label = "processor errors" }],
          ["AWS/Lambda", "Throttles", "FunctionName", local.names.function, { stat = "Sum", label = "processor throttles" }],
          ["AWS/Lambda", "Errors", "FunctionName", local.names.deadletter, { stat = "Sum", label = "dead-letter consumer errors" }],
        ]
      },
      {
        title = "Function duration (ms)"
        metrics = [
          ["AWS/Lambda", "Duration", "FunctionName", local.names.function, { stat = "p50", label = "p50" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.names.function, { stat = "p99", label = "p99" }],
          ["AWS/Lambda", "Duration", "FunctionName", local.names.function, { stat = "Maximum", label = "max" }],
        ]
        annotations = { horizontal = [{ label = "timeout", value = var.timeout * 1000 }] }
      },
    ],
    var.dashboard_database_instance_id == "" ? [] : [
      {
        title = "RDS connections and CPU (%)"
        metrics = [
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.dashboard_database_instance_id, { stat = "Maximum", label = "connections" }],
          ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.dashboard_database_instance_id, { stat = "Average", label = "CPU %", yAxis = "right" }],
        ]
      },
      {
        title = "RDS free storage (bytes)"
        metrics = [
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.dashboard_database_instance_id, { stat = "Minimum", label = "free storage" }],
        ]
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  count = var.dashboard_enabled ? 1 : 0

  dashboard_name = "${var.name_prefix}-pipeline"
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.dashboard_widgets : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = merge(
          {
            title   = w.title
            region  = local.region
            view    = "timeSeries"
            stacked = false
            period  = local.period
            metrics = w.metrics
          },
          try({ annotations = w.annotations }, {}),
        )
      }
    ]
  })
}

# --- alarms on ferry's own metrics ---------------------------------------------------

locals {
  create_ferry_alarms = var.create_alarms && local.create_function
  # Each: metric-math queries (the last one is the alarm's value) and a threshold.
  ferry_alarms = merge(
    {
      rejection-rate = {
        description = "More than ${var.ferry_alarms.rejection_rate_percent}% of the files ${local.names.function} finished in ${local.period} s were rejected (once at least ${var.ferry_alarms.rejection_min_files} were): a producer sends bad files or a schema changed. See the dashboard's rejects by route."
        threshold   = var.ferry_alarms.rejection_rate_percent
        metrics     = { files = "Files", rejects = "Rejects" }
        expression  = "IF(files >= ${var.ferry_alarms.rejection_min_files}, 100 * rejects / files, 0)"
      }
      batch-item-failures = {
        description = "${local.names.function} handed back more than ${var.ferry_alarms.batch_item_failures} messages for a retry in ${local.period} s (batchItemFailures: throttling, a database that is down, a missing permission). They are not Lambda errors: the function-errors alarm does not see them."
        threshold   = var.ferry_alarms.batch_item_failures
        metrics     = { failures = "BatchItemFailures" }
        expression  = "failures"
      }
    },
    local.events_enabled ? {
      file-events-refused = {
        description = "EventBridge refused file events from ${local.names.function} for good (EventsNotPublished): downstream consumers missed a terminal state; the ledger has it."
        threshold   = 0
        metrics     = { refused = "EventsNotPublished" }
        expression  = "refused"
      }
    } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "ferry" {
  for_each = local.create_ferry_alarms ? local.ferry_alarms : {}

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [local.alarm_topic_arn]
  ok_actions          = [local.alarm_topic_arn]
  tags                = var.tags

  dynamic "metric_query" {
    for_each = each.value.metrics
    content {
      id = metric_query.key
      metric {
        namespace   = local.metrics_namespace
        metric_name = metric_query.value
        dimensions  = { Service = local.names.function }
        period      = local.period
        stat        = "Sum"
      }
    }
  }

  metric_query {
    id          = "value"
    expression  = each.value.expression
    label       = each.key
    return_data = true
  }
}
