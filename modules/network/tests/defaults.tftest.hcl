# Offline: every AWS call is mocked. Runs use `command = apply` where an
# assertion compares resource ids (mocked ids are only known after apply).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1" }
  }
  # ARN-shaped values where the provider validates ARNs.
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc-flow-logs/ferry-test" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/ferry-test-vpc-flow-logs" }
  }
}

variables {
  name_prefix        = "ferry-test"
  account_id         = "111122223333"
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  logs_kms_key_arn   = "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
}

run "defaults_are_private_and_closed" {
  command = apply

  assert {
    condition     = aws_vpc.this.cidr_block == "10.40.0.0/16" && aws_vpc.this.enable_dns_support && aws_vpc.this.enable_dns_hostnames
    error_message = "default VPC CIDR with DNS support and hostnames (needed for private endpoint DNS)"
  }
  assert {
    condition     = length(aws_subnet.private) == 3 && length(aws_subnet.isolated) == 3 && length(aws_subnet.public) == 0
    error_message = "one private and one isolated subnet per zone, and no public subnets by default"
  }
  assert {
    condition     = length(aws_internet_gateway.this) == 0 && length(aws_nat_gateway.this) == 0 && length(aws_eip.nat) == 0
    error_message = "no internet gateway, NAT or elastic IP by default"
  }
  assert {
    condition     = length(aws_route.private_nat) == 0 && length(aws_route.public_internet) == 0
    error_message = "no route leaves the VPC by default"
  }
  assert {
    condition     = alltrue([for s in concat(values(aws_subnet.private), values(aws_subnet.isolated)) : s.map_public_ip_on_launch == false])
    error_message = "no subnet assigns public IPs on launch"
  }
  assert {
    condition     = [for az in var.availability_zones : aws_subnet.private[az].cidr_block] == ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]
    error_message = "private subnets take the first blocks"
  }
  assert {
    condition     = [for az in var.availability_zones : aws_subnet.isolated[az].cidr_block] == ["10.40.48.0/20", "10.40.64.0/20", "10.40.80.0/20"]
    error_message = "isolated subnets follow the private ones"
  }
  assert {
    condition     = alltrue([for az in var.availability_zones : aws_subnet.private[az].availability_zone == az && aws_subnet.isolated[az].availability_zone == az])
    error_message = "each subnet lies in its zone"
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "the default security group has no rules"
  }
}

run "isolated_subnets_have_no_route_out" {
  command = apply

  assert {
    condition     = alltrue([for a in aws_route_table_association.isolated : a.route_table_id == aws_route_table.isolated.id])
    error_message = "every isolated subnet uses the isolated route table"
  }
  assert {
    condition = alltrue([
      for r in concat(aws_route.public_internet, values(aws_route.private_nat)) : r.route_table_id != aws_route_table.isolated.id
    ])
    error_message = "no route is ever added to the isolated route table"
  }
  assert {
    condition     = alltrue([for az in var.availability_zones : aws_route_table_association.private[az].route_table_id == aws_route_table.private[az].id])
    error_message = "each private subnet uses its zone's private route table"
  }
}

run "endpoints" {
  command = apply

  assert {
    condition     = toset(keys(aws_vpc_endpoint.gateway)) == toset(["s3", "dynamodb"]) && alltrue([for ep in aws_vpc_endpoint.gateway : ep.vpc_endpoint_type == "Gateway"])
    error_message = "S3 and DynamoDB gateway endpoints"
  }
  assert {
    condition     = aws_vpc_endpoint.gateway["s3"].service_name == "com.amazonaws.eu-west-1.s3" && aws_vpc_endpoint.gateway["dynamodb"].service_name == "com.amazonaws.eu-west-1.dynamodb"
    error_message = "gateway endpoints are for this region's services"
  }
  assert {
    condition = alltrue([
      for ep in aws_vpc_endpoint.gateway :
      toset(ep.route_table_ids) == toset(concat([for rt in aws_route_table.private : rt.id], [aws_route_table.isolated.id]))
    ])
    error_message = "gateway endpoints serve the private and the isolated route tables"
  }
  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["sqs", "kms", "logs", "secretsmanager", "sts", "xray"])
    error_message = "the default interface endpoints"
  }
  assert {
    condition = alltrue([
      for ep in aws_vpc_endpoint.interface :
      ep.private_dns_enabled && ep.vpc_endpoint_type == "Interface"
      && toset(ep.security_group_ids) == toset([aws_security_group.endpoints.id])
      && toset(ep.subnet_ids) == toset([for s in aws_subnet.private : s.id])
    ])
    error_message = "interface endpoints: private DNS, in the private subnets, behind the endpoint security group"
  }
}

run "security_groups" {
  command = apply

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc.security_group_id == aws_security_group.endpoints.id
      && aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc.cidr_ipv4 == "10.40.0.0/16"
      && aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc.from_port == 443
      && aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc.to_port == 443
      && aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc.ip_protocol == "tcp"
    )
    error_message = "endpoints accept HTTPS from the VPC CIDR only"
  }
  assert {
    condition = (
      aws_vpc_security_group_egress_rule.processor_https_to_vpc.cidr_ipv4 == "10.40.0.0/16"
      && aws_vpc_security_group_egress_rule.processor_https_to_vpc.from_port == 443
      && aws_vpc_security_group_egress_rule.processor_https_to_vpc.to_port == 443
    )
    error_message = "processors send HTTPS to the VPC (the endpoints)"
  }
  assert {
    condition = alltrue([
      for svc, r in aws_vpc_security_group_egress_rule.processor_https_to_gateway_endpoints :
      r.prefix_list_id == aws_vpc_endpoint.gateway[svc].prefix_list_id && r.cidr_ipv4 == null && r.from_port == 443 && r.to_port == 443
    ]) && length(aws_vpc_security_group_egress_rule.processor_https_to_gateway_endpoints) == 2
    error_message = "processors reach S3 and DynamoDB through the gateway endpoints' prefix lists, not 0.0.0.0/0"
  }
  assert {
    condition = (
      aws_vpc_security_group_egress_rule.processor_to_database.referenced_security_group_id == aws_security_group.database.id
      && aws_vpc_security_group_egress_rule.processor_to_database.from_port == 5432
      && aws_vpc_security_group_egress_rule.processor_to_database.to_port == 5432
      && aws_vpc_security_group_egress_rule.processor_to_database.ip_protocol == "tcp"
    )
    error_message = "processors reach the database security group on 5432 only"
  }
  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.database_from_processor.security_group_id == aws_security_group.database.id
      && aws_vpc_security_group_ingress_rule.database_from_processor.referenced_security_group_id == aws_security_group.processor.id
      && aws_vpc_security_group_ingress_rule.database_from_processor.from_port == 5432
      && aws_vpc_security_group_ingress_rule.database_from_processor.cidr_ipv4 == null
    )
    error_message = "the database accepts 5432 from the processor security group only"
  }
  assert {
    condition = alltrue([
      for r in concat(
        [aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc, aws_vpc_security_group_ingress_rule.database_from_processor],
        [aws_vpc_security_group_egress_rule.processor_https_to_vpc, aws_vpc_security_group_egress_rule.processor_to_database],
        values(aws_vpc_security_group_egress_rule.processor_https_to_gateway_endpoints),
      ) : r.cidr_ipv4 != "0.0.0.0/0" && r.cidr_ipv6 == null && r.ip_protocol != "-1" && r.description != ""
    ])
    error_message = "no rule is open to the world, none allows all protocols, every rule is described"
  }
  assert {
    condition     = output.processor_security_group_id == aws_security_group.processor.id && output.database_security_group_id == aws_security_group.database.id && output.endpoint_security_group_id == aws_security_group.endpoints.id
    error_message = "security group outputs"
  }
}

run "flow_logs" {
  command = apply

  assert {
    condition = (
      aws_flow_log.this.traffic_type == "ALL"
      && aws_flow_log.this.vpc_id == aws_vpc.this.id
      && aws_flow_log.this.log_destination == aws_cloudwatch_log_group.flow_logs.arn
      && aws_flow_log.this.iam_role_arn == aws_iam_role.flow_logs.arn
      && aws_flow_log.this.max_aggregation_interval == 600
    )
    error_message = "all traffic of the VPC is logged to the flow-log group through the flow-log role"
  }
  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.retention_in_days == 365 && aws_cloudwatch_log_group.flow_logs.kms_key_id == var.logs_kms_key_arn
    error_message = "flow logs are kept a year and encrypted with the logs key"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.flow_logs_trust.statement :
      [for p in s.principals : toset(p.identifiers)][0] == toset(["vpc-flow-logs.amazonaws.com"])
      && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && toset(c.values) == toset(["111122223333"])])
      && anytrue([for c in s.condition : c.variable == "aws:SourceArn" && toset(c.values) == toset(["arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/*"])])
    ])
    error_message = "only the flow-logs service of this account may assume the role"
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.flow_logs_write.statement :
      toset(s.resources) == toset([aws_cloudwatch_log_group.flow_logs.arn, "${aws_cloudwatch_log_group.flow_logs.arn}:log-stream:*"])
      && toset(s.actions) == toset(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"])
    ])
    error_message = "the flow-log role may write to the flow-log group only"
  }
  assert {
    condition     = output.flow_log_group_name == "/aws/vpc-flow-logs/ferry-test" && output.flow_log_group_arn == aws_cloudwatch_log_group.flow_logs.arn
    error_message = "flow-log group outputs"
  }
}

# The delivery policy names the log group by an ARN built from its name, so it
# is known when the group is created in the same plan and the plan review
# reads it (with the group's ARN it would be known only after apply).
run "flow_log_policy_known_at_plan_time" {
  command = plan
  # A state of its own: the runs above applied the group, whose ARN is then known.
  state_key = "plan_time"

  # As in a real plan, the created group's ARN is known only after apply.
  override_resource {
    target = aws_cloudwatch_log_group.flow_logs
  }

  assert {
    condition = [
      for s in data.aws_iam_policy_document.flow_logs_write.statement : toset(s.resources)
      ][0] == toset([
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc-flow-logs/ferry-test",
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc-flow-logs/ferry-test:log-stream:*",
    ])
    error_message = "the flow-log delivery policy names its log group by the ARN built from the group's name"
  }
}

run "outputs_follow_zone_order" {
  command = apply

  assert {
    condition     = output.private_subnet_ids == [for az in var.availability_zones : aws_subnet.private[az].id] && output.isolated_subnet_ids == [for az in var.availability_zones : aws_subnet.isolated[az].id]
    error_message = "subnet id lists follow availability_zones"
  }
  assert {
    condition     = output.public_subnet_ids == [] && output.nat_gateway_ids == [] && output.internet_gateway_id == null && output.public_route_table_id == null
    error_message = "public outputs are empty without public subnets"
  }
  assert {
    condition     = output.vpc_id == aws_vpc.this.id && output.isolated_route_table_id == aws_route_table.isolated.id && length(output.private_route_table_ids) == 3
    error_message = "vpc and route table outputs"
  }
  assert {
    condition     = toset(keys(output.interface_endpoint_ids)) == toset(var.interface_endpoints) && toset(keys(output.gateway_endpoint_ids)) == toset(["s3", "dynamodb"])
    error_message = "endpoint id outputs by service"
  }
}
