# Security groups. Rules are separate aws_vpc_security_group_*_rule resources
# (one rule each, with a description); no rule anywhere admits 0.0.0.0/0 or
# ::/0. A group created without inline rules has AWS's default allow-all
# egress removed by Terraform, so each group allows exactly the rules below.

resource "aws_security_group" "endpoints" {
  name        = "${var.name_prefix}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-endpoints" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https_from_vpc" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS to the AWS APIs from inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = aws_vpc.this.cidr_block

  tags = merge(var.tags, { Name = "${var.name_prefix}-endpoints-https-from-vpc" })
}

resource "aws_security_group" "processor" {
  #checkov:skip=CKV2_AWS_5:Attached by the consumer of processor_security_group_id (the pipeline module's Lambda functions), not in this module.
  name        = "${var.name_prefix}-processor"
  description = "File processors: HTTPS to VPC endpoints and the database port only; no ingress"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-processor" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "processor_https_to_vpc" {
  security_group_id = aws_security_group.processor.id
  description       = "HTTPS to the interface VPC endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = aws_vpc.this.cidr_block

  tags = merge(var.tags, { Name = "${var.name_prefix}-processor-https-to-vpc" })
}

resource "aws_vpc_security_group_egress_rule" "processor_https_to_gateway_endpoints" {
  for_each = local.gateway_services

  security_group_id = aws_security_group.processor.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.gateway[each.key].prefix_list_id

  tags = merge(var.tags, { Name = "${var.name_prefix}-processor-https-to-${each.key}" })
}

# Egress through NAT: HTTPS to exactly the CIDRs given, nothing else.
resource "aws_vpc_security_group_egress_rule" "processor_https_to_egress_cidrs" {
  for_each = toset(var.egress_cidrs)

  security_group_id = aws_security_group.processor.id
  description       = "HTTPS through NAT to ${each.key}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.key

  tags = merge(var.tags, { Name = "${var.name_prefix}-processor-https-to-${replace(replace(each.key, ".", "-"), "/", "-")}" })
}

resource "aws_vpc_security_group_egress_rule" "processor_to_database" {
  security_group_id            = aws_security_group.processor.id
  description                  = "Database connections to the database security group"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.database.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-processor-to-database" })
}

resource "aws_security_group" "database" {
  #checkov:skip=CKV2_AWS_5:Attached by the consumer of database_security_group_id (the database module's RDS instance), not in this module.
  name        = "${var.name_prefix}-database"
  description = "Database: connections from the processor security group only; no egress"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-database" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_processor" {
  security_group_id            = aws_security_group.database.id
  description                  = "Database connections from the processors"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.processor.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-database-from-processor" })
}
