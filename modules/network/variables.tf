variable "name_prefix" {
  description = "Prefix for every name this module creates (<name_prefix>-<what>). 3-32 characters: lower-case letters, digits and hyphens, starting with a letter."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource, merged over the provider's default_tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "account_id" {
  description = "AWS account id (12 digits): the aws:SourceAccount of the flow-log role's trust policy. Taken as an input so plans work without calling AWS."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, a network address with a prefix between /16 and /24."
  type        = string
  default     = "10.40.0.0/16"
  nullable    = false

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^[0-9.]+/[0-9]+$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.40.0.0/16."
  }
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    error_message = "vpc_cidr prefix length must be between /16 and /24."
  }
  validation {
    condition     = try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false)
    error_message = "vpc_cidr must be a network address (no host bits set), e.g. 10.40.0.0/16 rather than 10.40.1.0/16."
  }
}

variable "availability_zones" {
  description = "Availability zone names (1-6, e.g. [\"eu-west-1a\", \"eu-west-1b\"]). One subnet of each tier per zone. Taken as an input so plans work without calling AWS."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.availability_zones) >= 1 && length(var.availability_zones) <= 6
    error_message = "availability_zones must list between 1 and 6 zones."
  }
  validation {
    condition     = length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must not repeat a zone."
  }
  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$", az))])
    error_message = "availability_zones must be zone names such as eu-west-1a."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each subnet (cidrsubnet newbits). Layout: private subnets take blocks 0..n-1, isolated n..2n-1, public 2n..3n-1 (n = number of zones), so changing the zone count renumbers subnets."
  type        = number
  default     = 4
  nullable    = false

  validation {
    condition     = var.subnet_newbits >= 1 && var.subnet_newbits <= 12 && floor(var.subnet_newbits) == var.subnet_newbits
    error_message = "subnet_newbits must be a whole number between 1 and 12."
  }
  validation {
    condition     = try(tonumber(split("/", var.vpc_cidr)[1]), 16) + var.subnet_newbits <= 28
    error_message = "subnets would be smaller than /28 (the smallest AWS allows); lower subnet_newbits or widen vpc_cidr."
  }
  validation {
    condition     = 3 * length(var.availability_zones) <= pow(2, var.subnet_newbits)
    error_message = "subnet_newbits leaves too few blocks for three subnet tiers in every zone; raise it."
  }
}

variable "egress_cidrs" {
  description = "IPv4 CIDRs outside AWS the processors call on HTTPS (443), e.g. enrichment APIs. Given: NAT gateways (nat_mode single or per_az), public subnets and an internet gateway, and processor egress on 443 to exactly these CIDRs. Empty (the default): no NAT at all, AWS services through the VPC endpoints only."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.egress_cidrs : can(cidrnetmask(c)) && cidrhost(c, 0) == split("/", c)[0]])
    error_message = "egress_cidrs entries must be IPv4 network CIDRs (address bits beyond the prefix zero), e.g. 203.0.113.0/24."
  }
  validation {
    condition     = alltrue([for c in var.egress_cidrs : tonumber(split("/", c)[1]) >= 8])
    error_message = "egress_cidrs must name the networks the processors need (a /8 or narrower), never 0.0.0.0/0 or other catch-alls."
  }
}

variable "nat_mode" {
  description = "NAT for the private subnets when egress_cidrs are given: single (one NAT gateway, cheaper, one zone is a single point of failure) or per_az (one per zone). none, or no egress_cidrs: no NAT. Any NAT also creates public subnets and an internet gateway."
  type        = string
  default     = "none"
  nullable    = false

  validation {
    condition     = contains(["none", "single", "per_az"], var.nat_mode)
    error_message = "nat_mode must be none, single or per_az."
  }
  validation {
    condition     = var.nat_mode != "none" || length(var.egress_cidrs) == 0
    error_message = "egress_cidrs need NAT: set nat_mode to single or per_az."
  }
}

variable "public_subnets_enabled" {
  description = "Public subnets and an internet gateway even without NAT (for a load balancer, say). Off by default; any nat_mode other than none turns them on by itself."
  type        = bool
  default     = false
  nullable    = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints (private DNS on, in the private subnets, HTTPS from the VPC only). S3 and DynamoDB always get gateway endpoints."
  type        = list(string)
  default     = ["sqs", "kms", "logs", "secretsmanager", "sts", "xray"]
  nullable    = false

  validation {
    condition = alltrue([
      for svc in var.interface_endpoints : contains([
        "sqs", "sns", "kms", "logs", "monitoring", "events", "secretsmanager", "ssm", "sts", "xray",
        "lambda", "rds", "rds-data", "ecr.api", "ecr.dkr", "states", "execute-api", "glue", "athena",
      ], svc)
    ])
    error_message = "interface_endpoints accepts: sqs, sns, kms, logs, monitoring, events, secretsmanager, ssm, sts, xray, lambda, rds, rds-data, ecr.api, ecr.dkr, states, execute-api, glue, athena (S3 and DynamoDB use gateway endpoints)."
  }
  validation {
    condition     = length(distinct(var.interface_endpoints)) == length(var.interface_endpoints)
    error_message = "interface_endpoints must not repeat a service."
  }
}

variable "database_port" {
  description = "Port the database listens on: the only port the processor may reach the database security group on."
  type        = number
  default     = 5432
  nullable    = false

  validation {
    condition     = var.database_port >= 1150 && var.database_port <= 65535 && floor(var.database_port) == var.database_port
    error_message = "database_port must be a whole number between 1150 and 65535 (the range RDS accepts)."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of the customer-managed KMS key (ferry's logs key) that encrypts the flow-log log group. Single- and multi-Region (mrk-) keys are accepted alike; aliases are not."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> with a key id such as 1234abcd-12ab-34cd-56ef-1234567890ab or mrk-1234abcd12ab34cd56ef1234567890ab; aliases are not accepted."
  }
}

variable "log_retention_days" {
  description = "Days the VPC flow logs are kept. One of the values CloudWatch Logs accepts; never-expire (0) is not offered."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "flow_log_max_aggregation_interval" {
  description = "Seconds over which flow-log records are aggregated: 60 or 600."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = contains([60, 600], var.flow_log_max_aggregation_interval)
    error_message = "flow_log_max_aggregation_interval must be 60 or 600."
  }
}
