# VPC with three subnet tiers per availability zone:
#
#   public    only with NAT or public_subnets_enabled: NAT gateways (and load
#             balancers); routes to the internet gateway
#   private   the processors; route out through NAT only when egress_cidrs
#             are given (HTTPS to exactly those), otherwise reach AWS only
#             through the VPC endpoints
#   isolated  the database; no route out of the VPC at all (only the S3 and
#             DynamoDB gateway endpoints' prefix-list routes)
#
# Nothing gets a public IP on launch, and the default security group is
# managed with no rules so that nothing can use it by accident.

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # The region's name is `id` in provider 5.x and 6.x alike: `name` is
  # deprecated in 6.x and `region` does not exist in 5.x (docs/provider-6.md).
  region = data.aws_region.current.id

  az_count = length(var.availability_zones)
  azs      = { for i, az in var.availability_zones : az => i }

  # NAT only with a purpose: the egress CIDRs the processors reach on 443
  # (e.g. enrichment APIs). Without them there is no NAT gateway, whatever
  # nat_mode says, and no route out of the VPC.
  nat_enabled    = length(var.egress_cidrs) > 0
  public_enabled = var.public_subnets_enabled || local.nat_enabled
  nat_count      = !local.nat_enabled ? 0 : (var.nat_mode == "per_az" ? local.az_count : 1)

  private_cidrs  = { for az, i in local.azs : az => cidrsubnet(var.vpc_cidr, var.subnet_newbits, i) }
  isolated_cidrs = { for az, i in local.azs : az => cidrsubnet(var.vpc_cidr, var.subnet_newbits, local.az_count + i) }
  public_cidrs   = { for az, i in local.azs : az => cidrsubnet(var.vpc_cidr, var.subnet_newbits, 2 * local.az_count + i) }
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  instance_tenancy     = "default"
  enable_dns_support   = true # required by private DNS of interface endpoints
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = "${var.name_prefix}-vpc" })

  lifecycle {
    precondition {
      condition     = alltrue([for az in var.availability_zones : can(regex("^${local.region}[a-z]$", az))])
      error_message = "availability_zones must all lie in the provider's region (${local.region}), e.g. ${local.region}a."
    }
  }
}

# Take over the default security group and strip every rule from it.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  # Explicitly empty: Terraform removes every rule AWS put there.
  ingress = []
  egress  = []

  tags = merge(var.tags, { Name = "${var.name_prefix}-default-closed" })
}

# --- subnets ----------------------------------------------------------------------

resource "aws_subnet" "private" {
  for_each = local.azs

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = local.private_cidrs[each.key]
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name_prefix}-private-${each.key}", "ferry:tier" = "private" })
}

resource "aws_subnet" "isolated" {
  for_each = local.azs

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = local.isolated_cidrs[each.key]
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name_prefix}-isolated-${each.key}", "ferry:tier" = "isolated" })
}

resource "aws_subnet" "public" {
  for_each = local.public_enabled ? local.azs : {}

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = local.public_cidrs[each.key]
  map_public_ip_on_launch = false # NAT gateways and load balancers get their addresses explicitly

  tags = merge(var.tags, { Name = "${var.name_prefix}-public-${each.key}", "ferry:tier" = "public" })
}

# --- internet gateway and NAT -------------------------------------------------------

resource "aws_internet_gateway" "this" {
  count = local.public_enabled ? 1 : 0

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-igw" })
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"

  tags = merge(var.tags, { Name = "${var.name_prefix}-nat-${var.availability_zones[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id     = aws_eip.nat[count.index].id
  subnet_id         = aws_subnet.public[var.availability_zones[count.index]].id
  connectivity_type = "public"

  tags = merge(var.tags, { Name = "${var.name_prefix}-nat-${var.availability_zones[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

# --- route tables -------------------------------------------------------------------

resource "aws_route_table" "public" {
  count = local.public_enabled ? 1 : 0

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-public", "ferry:tier" = "public" })
}

resource "aws_route" "public_internet" {
  count = local.public_enabled ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  for_each = aws_subnet.public

  subnet_id      = each.value.id
  route_table_id = aws_route_table.public[0].id
}

# One private route table per zone, so that per_az NAT keeps traffic in its zone.
resource "aws_route_table" "private" {
  for_each = local.azs

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-private-${each.key}", "ferry:tier" = "private" })
}

resource "aws_route" "private_nat" {
  for_each = local.nat_count > 0 ? local.azs : {}

  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.nat_mode == "per_az" ? each.value : 0].id
}

resource "aws_route_table_association" "private" {
  for_each = aws_subnet.private

  subnet_id      = each.value.id
  route_table_id = aws_route_table.private[each.key].id
}

# The isolated tier shares one route table that has no aws_route at all: only
# the VPC-local route and the gateway endpoints' prefix lists.
resource "aws_route_table" "isolated" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-isolated", "ferry:tier" = "isolated" })
}

resource "aws_route_table_association" "isolated" {
  for_each = aws_subnet.isolated

  subnet_id      = each.value.id
  route_table_id = aws_route_table.isolated.id
}
