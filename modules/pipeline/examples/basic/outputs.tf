output "queue_url" {
  description = "Ingest queue URL."
  value       = module.pipeline.queue_url
}

output "function_name" {
  description = "Processor function name."
  value       = module.pipeline.function_name
}

output "table_names" {
  description = "DynamoDB tables by role."
  value       = module.pipeline.table_names
}

output "alarm_topic_arn" {
  description = "Alarm topic ARN."
  value       = module.pipeline.alarm_topic_arn
}
