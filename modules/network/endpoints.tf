# VPC endpoints: the private subnets reach S3, DynamoDB and the listed AWS APIs
# without any route to the internet.

locals {
  gateway_services     = toset(["s3", "dynamodb"])
  private_and_isolated = concat([for az in var.availability_zones : aws_route_table.private[az].id], [aws_route_table.isolated.id])
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = local.gateway_services

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.private_and_isolated

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoints)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for az in var.availability_zones : aws_subnet.private[az].id]
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = merge(var.tags, { Name = "${var.name_prefix}-${replace(each.key, ".", "-")}" })
}
