output "instance_id" {
  description = "RDS instance identifier."
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "RDS instance ARN."
  value       = aws_db_instance.this.arn
}

output "instance_resource_id" {
  description = "RDS resource id (db-...), the part of an rds-db:connect ARN that names the instance: arn:<partition>:rds-db:<region>:<account>:dbuser:<resource_id>/<user>."
  value       = aws_db_instance.this.resource_id
}

output "address" {
  description = "Host name clients connect to (verify it against the RDS CA: sslmode=verify-full)."
  value       = aws_db_instance.this.address
}

output "endpoint" {
  description = "host:port of the instance."
  value       = aws_db_instance.this.endpoint
}

output "port" {
  description = "TCP port of the instance."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the database created on the instance."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user (null until RDS reports it)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "parameter_group_name" {
  description = "Name of the instance's parameter group."
  value       = aws_db_parameter_group.this.name
}

output "subnet_group_name" {
  description = "Name of the DB subnet group."
  value       = aws_db_subnet_group.this.name
}

output "log_group_names" {
  description = "CloudWatch log groups receiving the exported postgresql and upgrade logs, by log type."
  value       = { for k, g in aws_cloudwatch_log_group.exports : k => g.name }
}

output "monitoring_role_arn" {
  description = "ARN of the Enhanced Monitoring role (null when monitoring_interval is 0)."
  value       = try(aws_iam_role.monitoring[0].arn, null)
}
