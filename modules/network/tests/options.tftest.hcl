# Each option changes what it says and nothing else.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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

run "nat_mode_alone_creates_no_nat" {
  command = plan

  # Before: nat_mode = single created a NAT gateway no security group let
  # anything use (cost with no purpose).
  variables {
    nat_mode = "single"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_eip.nat) == 0 && length(aws_internet_gateway.this) == 0 && length(aws_subnet.public) == 0 && length(aws_route.private_nat) == 0
    error_message = "without egress_cidrs there is no NAT, no internet gateway and no public subnet"
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.processor_https_to_egress_cidrs) == 0
    error_message = "and no egress beyond the VPC"
  }
}

run "single_nat" {
  command = apply

  variables {
    nat_mode     = "single"
    egress_cidrs = ["203.0.113.0/24", "198.51.100.16/28"]
  }

  assert {
    condition = {
      for c, r in aws_vpc_security_group_egress_rule.processor_https_to_egress_cidrs : c => "${r.ip_protocol} ${r.from_port}-${r.to_port} ${r.cidr_ipv4} ${r.security_group_id == aws_security_group.processor.id}"
      } == {
      "203.0.113.0/24"   = "tcp 443-443 203.0.113.0/24 true"
      "198.51.100.16/28" = "tcp 443-443 198.51.100.16/28 true"
    }
    error_message = "the processors reach exactly the egress CIDRs, on 443 only"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_eip.nat) == 1 && aws_eip.nat[0].domain == "vpc"
    error_message = "one NAT gateway with one elastic IP"
  }
  assert {
    condition     = length(aws_subnet.public) == 3 && length(aws_internet_gateway.this) == 1 && aws_nat_gateway.this[0].subnet_id == aws_subnet.public["eu-west-1a"].id
    error_message = "NAT brings public subnets and an internet gateway; the NAT lives in the first zone's public subnet"
  }
  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "public subnets do not hand out public IPs either"
  }
  assert {
    condition     = [for az in var.availability_zones : aws_subnet.public[az].cidr_block] == ["10.40.96.0/20", "10.40.112.0/20", "10.40.128.0/20"]
    error_message = "public subnets follow the isolated ones"
  }
  assert {
    condition     = length(aws_route.private_nat) == 3 && alltrue([for r in aws_route.private_nat : r.nat_gateway_id == aws_nat_gateway.this[0].id && r.destination_cidr_block == "0.0.0.0/0"])
    error_message = "every private route table routes out through the single NAT"
  }
  assert {
    condition     = aws_route.public_internet[0].gateway_id == aws_internet_gateway.this[0].id && aws_route.public_internet[0].route_table_id == aws_route_table.public[0].id
    error_message = "the public route table routes out through the internet gateway"
  }
  assert {
    condition     = alltrue([for a in aws_route_table_association.public : a.route_table_id == aws_route_table.public[0].id]) && length(aws_route_table_association.public) == 3
    error_message = "public subnets use the public route table"
  }
  assert {
    condition = alltrue([
      for r in concat(aws_route.public_internet, values(aws_route.private_nat)) : r.route_table_id != aws_route_table.isolated.id
    ])
    error_message = "isolated subnets still have no route out"
  }
  assert {
    condition     = output.nat_gateway_ids == [aws_nat_gateway.this[0].id] && length(output.public_subnet_ids) == 3 && output.internet_gateway_id == aws_internet_gateway.this[0].id
    error_message = "NAT and public outputs"
  }
}

run "nat_per_az" {
  command = apply

  variables {
    nat_mode     = "per_az"
    egress_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && alltrue([for i, az in var.availability_zones : aws_nat_gateway.this[i].subnet_id == aws_subnet.public[az].id])
    error_message = "one NAT gateway in each zone's public subnet"
  }
  assert {
    condition     = alltrue([for i, az in var.availability_zones : aws_route.private_nat[az].nat_gateway_id == aws_nat_gateway.this[i].id && aws_route.private_nat[az].route_table_id == aws_route_table.private[az].id])
    error_message = "each zone's private subnets route out through that zone's NAT"
  }
}

run "public_subnets_without_nat" {
  command = plan

  variables {
    public_subnets_enabled = true
  }

  assert {
    condition     = length(aws_subnet.public) == 3 && length(aws_internet_gateway.this) == 1 && length(aws_route.public_internet) == 1
    error_message = "public subnets with an internet gateway route"
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_route.private_nat) == 0
    error_message = "no NAT: private subnets still have no route out"
  }
}

run "interface_endpoints_follow_the_list" {
  command = plan

  variables {
    interface_endpoints = ["sqs", "ecr.api"]
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["sqs", "ecr.api"])
    error_message = "only the listed interface endpoints"
  }
  assert {
    condition     = aws_vpc_endpoint.interface["ecr.api"].service_name == "com.amazonaws.eu-west-1.ecr.api"
    error_message = "service names are regional"
  }
  assert {
    condition     = length(aws_vpc_endpoint.gateway) == 2
    error_message = "gateway endpoints stay"
  }
}

run "no_interface_endpoints" {
  command = plan

  variables {
    interface_endpoints = []
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_vpc_endpoint.gateway) == 2
    error_message = "no interface endpoints; gateway endpoints stay"
  }
}

run "one_zone_small_vpc" {
  command = plan

  variables {
    vpc_cidr           = "192.168.10.0/24"
    availability_zones = ["eu-west-1b"]
    subnet_newbits     = 2
  }

  assert {
    condition     = aws_subnet.private["eu-west-1b"].cidr_block == "192.168.10.0/26" && aws_subnet.isolated["eu-west-1b"].cidr_block == "192.168.10.64/26"
    error_message = "subnets are carved from the VPC CIDR with subnet_newbits"
  }
}

run "database_port" {
  command = plan

  variables {
    database_port = 6432
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.processor_to_database.from_port == 6432
      && aws_vpc_security_group_egress_rule.processor_to_database.to_port == 6432
      && aws_vpc_security_group_ingress_rule.database_from_processor.from_port == 6432
      && aws_vpc_security_group_ingress_rule.database_from_processor.to_port == 6432
    )
    error_message = "both sides of the database rule follow database_port"
  }
}

run "flow_log_settings" {
  command = plan

  variables {
    log_retention_days                = 731
    flow_log_max_aggregation_interval = 60
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.retention_in_days == 731 && aws_flow_log.this.max_aggregation_interval == 60 && aws_flow_log.this.traffic_type == "ALL"
    error_message = "retention and aggregation follow the inputs; all traffic is still logged"
  }
}

run "multi_region_logs_key" {
  command = plan

  variables {
    logs_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1a2b3c4d5e6f4a8b9c0d1e2f3a4b5c6d"
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.kms_key_id == "arn:aws:kms:eu-west-1:111122223333:key/mrk-1a2b3c4d5e6f4a8b9c0d1e2f3a4b5c6d"
    error_message = "a multi-Region key is accepted like a single-Region one"
  }
}

run "endpoint_policies_admit_this_account_only" {
  command = plan

  assert {
    condition = alltrue([
      for svc, e in merge(aws_vpc_endpoint.gateway, aws_vpc_endpoint.interface) :
      jsondecode(e.policy).Statement[0].Condition.StringEquals["aws:PrincipalAccount"] == "111122223333"
    ])
    error_message = "every endpoint admits only this account's principals (not AWS's default full-access policy)"
  }
  assert {
    condition = alltrue([
      for svc in ["s3", "dynamodb", "sqs", "kms", "logs", "secretsmanager"] :
      jsondecode(merge(aws_vpc_endpoint.gateway, aws_vpc_endpoint.interface)[svc].policy).Statement[0].Condition.StringEquals["aws:ResourceAccount"] == "111122223333"
    ])
    error_message = "endpoints of services with resources admit only this account's resources"
  }
  assert {
    condition     = !contains(keys(jsondecode(aws_vpc_endpoint.interface["xray"].policy).Statement[0].Condition.StringEquals), "aws:ResourceAccount")
    error_message = "X-Ray calls name no resource of the account: principals only"
  }
}
