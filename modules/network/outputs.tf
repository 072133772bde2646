output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "VPC IPv4 CIDR block."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability zones, in the order the subnet lists follow."
  value       = var.availability_zones
}

output "public_subnet_ids" {
  description = "Public subnet ids, one per zone in availability_zones order (empty without public subnets)."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id if contains(keys(aws_subnet.public), az)]
}

output "private_subnet_ids" {
  description = "Private subnet ids (processors), one per zone in availability_zones order."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "isolated_subnet_ids" {
  description = "Isolated subnet ids (database; no route out of the VPC), one per zone in availability_zones order."
  value       = [for az in var.availability_zones : aws_subnet.isolated[az].id]
}

output "private_subnet_cidrs" {
  description = "Private subnet CIDR blocks, in availability_zones order."
  value       = [for az in var.availability_zones : local.private_cidrs[az]]
}

output "isolated_subnet_cidrs" {
  description = "Isolated subnet CIDR blocks, in availability_zones order."
  value       = [for az in var.availability_zones : local.isolated_cidrs[az]]
}

output "public_route_table_id" {
  description = "Public route table id (null without public subnets)."
  value       = try(aws_route_table.public[0].id, null)
}

output "private_route_table_ids" {
  description = "Private route table ids, one per zone in availability_zones order."
  value       = [for az in var.availability_zones : aws_route_table.private[az].id]
}

output "isolated_route_table_id" {
  description = "The isolated tier's route table id (no routes out of the VPC)."
  value       = aws_route_table.isolated.id
}

output "internet_gateway_id" {
  description = "Internet gateway id (null without public subnets)."
  value       = try(aws_internet_gateway.this[0].id, null)
}

output "nat_gateway_ids" {
  description = "NAT gateway ids (empty without egress_cidrs)."
  value       = aws_nat_gateway.this[*].id
}

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (for allow-lists elsewhere)."
  value       = aws_eip.nat[*].public_ip
}

output "gateway_endpoint_ids" {
  description = "Gateway endpoint ids by service (s3, dynamodb)."
  value       = { for svc, ep in aws_vpc_endpoint.gateway : svc => ep.id }
}

output "gateway_endpoint_prefix_list_ids" {
  description = "Prefix list ids of the gateway endpoints by service (for further security group rules)."
  value       = { for svc, ep in aws_vpc_endpoint.gateway : svc => ep.prefix_list_id }
}

output "interface_endpoint_ids" {
  description = "Interface endpoint ids by service."
  value       = { for svc, ep in aws_vpc_endpoint.interface : svc => ep.id }
}

output "processor_security_group_id" {
  description = "Security group for the processors: HTTPS to the endpoints and the database port to the database group; no ingress."
  value       = aws_security_group.processor.id
}

output "database_security_group_id" {
  description = "Security group for the database: the database port from the processor group only; no egress."
  value       = aws_security_group.database.id
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints: HTTPS from the VPC CIDR only."
  value       = aws_security_group.endpoints.id
}

output "default_security_group_id" {
  description = "The VPC's default security group, managed with no rules."
  value       = aws_default_security_group.this.id
}

output "flow_log_id" {
  description = "VPC flow log id."
  value       = aws_flow_log.this.id
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}

output "flow_log_group_arn" {
  description = "ARN of the CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.arn
}

output "flow_log_role_arn" {
  description = "ARN of the role that delivers the flow logs."
  value       = aws_iam_role.flow_logs.arn
}
