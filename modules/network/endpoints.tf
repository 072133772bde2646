# VPC endpoints: the private subnets reach S3, DynamoDB and the listed AWS APIs
# without any route to the internet.

locals {
  gateway_services = toset(["s3", "dynamodb"])

  # Endpoint policies: only principals of this account, and only resources
  # of this account, pass through the endpoints ("Control access to VPC
  # endpoints using endpoint policies",
  # https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html;
  # aws:PrincipalAccount and aws:ResourceAccount in "AWS global condition
  # context keys", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
  # Services whose calls name no resource of the account (X-Ray segments,
  # CloudWatch metrics, STS, ECR's image layers in AWS-owned S3) are limited
  # to this account's principals only.
  principal_only_services = ["sts", "xray", "monitoring", "ecr.api", "ecr.dkr"]
  endpoint_policies = {
    for svc in concat(tolist(local.gateway_services), var.interface_endpoints) : svc => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "ThisAccountOnly"
        Effect    = "Allow"
        Principal = "*"
        Action    = "*"
        Resource  = "*"
        Condition = {
          StringEquals = merge(
            { "aws:PrincipalAccount" = var.account_id },
            contains(local.principal_only_services, svc) ? {} : { "aws:ResourceAccount" = var.account_id },
          )
        }
      }]
    })
  }

  private_and_isolated = concat([for az in var.availability_zones : aws_route_table.private[az].id], [aws_route_table.isolated.id])
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = local.gateway_services

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.private_and_isolated
  policy            = local.endpoint_policies[each.key]

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
  policy              = local.endpoint_policies[each.key]

  tags = merge(var.tags, { Name = "${var.name_prefix}-${replace(each.key, ".", "-")}" })
}
