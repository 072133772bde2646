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

output "routed_prefixes" {
  description = "Key prefixes the raw bucket notifies (derived from processing.json)."
  value       = module.pipeline.routed_prefixes
}

output "processing_config_sha256" {
  description = "SHA-256 of processing.json; make build prints the same for the configuration it packs."
  value       = module.pipeline.processing_config_sha256
}
