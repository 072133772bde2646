variable "name_prefix" {
  description = "Prefix for every name this module creates (<name_prefix>-db, its subnet group, parameter group and monitoring role). 3-32 characters: lower-case letters, digits and single hyphens, starting with a letter."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix)) && !strcontains(var.name_prefix, "--")
    error_message = "name_prefix must be 3-32 characters: lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "account_id" {
  description = "AWS account id that owns the database (used in the monitoring role's trust policy)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "subnet_ids" {
  description = "Isolated subnets (no route to the internet) for the DB subnet group; at least two, in different availability zones (the network module's isolated_subnet_ids)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets (RDS needs two availability zones for a subnet group)."
  }
  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must be subnet ids (subnet-xxxxxxxx)."
  }
}

variable "security_group_ids" {
  description = "Security groups attached to the instance (the network module's database_security_group_id). The database group should only admit the processors on the database port."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids must list at least one security group; the VPC default group is never used."
  }
  validation {
    condition     = alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "security_group_ids must be security group ids (sg-xxxxxxxx)."
  }
}

variable "operational_kms_key_arn" {
  description = "ARN of the customer-managed KMS key (ferry's operational key) that encrypts storage, automated backups, snapshots, Performance Insights and the master user secret RDS manages in Secrets Manager. Single- and multi-Region (mrk-) keys are accepted alike; aliases and AWS-managed keys are not."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.operational_kms_key_arn))
    error_message = "operational_kms_key_arn must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> with a key id such as 1234abcd-12ab-34cd-56ef-1234567890ab or mrk-1234abcd12ab34cd56ef1234567890ab; aliases are not accepted."
  }
}

variable "engine_version" {
  description = "PostgreSQL version: a major (\"16\", lets RDS pick and upgrade the minor) or major.minor (\"16.4\"). Supported majors: 15, 16, 17."
  type        = string
  default     = "16"
  nullable    = false

  validation {
    condition     = can(regex("^(15|16|17)(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be a supported PostgreSQL major (15, 16 or 17), optionally with a minor, e.g. \"16\" or \"16.4\"."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t4g.medium (dev) or db.r7g.large (prod)."
  type        = string
  default     = "db.t4g.medium"
  nullable    = false

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class)) && !startswith(var.instance_class, "db.t2.")
    error_message = "instance_class must look like db.<family>.<size>; the previous-generation db.t2 family is not accepted (no encryption-at-rest guarantees for every size)."
  }
}

variable "db_name" {
  description = "Name of the database created on the instance."
  type        = string
  default     = "ferry"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a lower case letter and hold only lower case letters, digits and underscores (at most 63 characters)."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager; applications should connect with IAM authentication or their own roles."
  type        = string
  default     = "ferry_admin"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["admin", "postgres", "rdsadmin", "root"], var.master_username)
    error_message = "master_username must be a lower case identifier (letters, digits, underscores, at most 63 characters) and not a well-known name (admin, postgres, rdsadmin, root)."
  }
}

variable "port" {
  description = "TCP port the database listens on."
  type        = number
  default     = 5432
  nullable    = false

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535 (the range RDS accepts for PostgreSQL)."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3)."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536 && floor(var.allocated_storage) == var.allocated_storage
    error_message = "allocated_storage must be a whole number of GiB between 20 and 65536."
  }
}

variable "max_allocated_storage" {
  description = "Upper bound in GiB for storage autoscaling; 0 turns autoscaling off. Caps what a runaway load can cost."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.max_allocated_storage == 0 || (var.max_allocated_storage >= var.allocated_storage && var.max_allocated_storage <= 65536)
    error_message = "max_allocated_storage must be 0 (no autoscaling) or between allocated_storage and 65536."
  }
}

variable "multi_az_enabled" {
  description = "Run a synchronous standby in a second availability zone. On by default; off (false) only for environments that can afford downtime, such as dev."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Refuse to delete the instance. Turn off only for throwaway environments, and only in the apply before a destroy."
  type        = bool
  default     = true
  nullable    = false
}

variable "final_snapshot_enabled" {
  description = "Take a final snapshot (<name_prefix>-db-final) when the instance is deleted. On by default; off (false) only for throwaway environments."
  type        = bool
  default     = true
  nullable    = false
}

variable "backup_retention_period" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.backup_retention_period >= 7 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 7 and 35 days."
  }
}

variable "backup_window" {
  description = "Daily UTC window for automated backups (hh24:mi-hh24:mi); null lets RDS choose."
  type        = string
  default     = null

  validation {
    condition     = var.backup_window == null || can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "backup_window must look like \"03:00-04:00\" (UTC)."
  }
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window (ddd:hh24:mi-ddd:hh24:mi); null lets RDS choose. Must not overlap backup_window."
  type        = string
  default     = null

  validation {
    condition     = var.maintenance_window == null || can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must look like \"sun:04:30-sun:05:30\" (UTC, lower case day names)."
  }
}

variable "auto_minor_version_upgrade_enabled" {
  description = "Apply minor engine upgrades (security fixes) in the maintenance window."
  type        = bool
  default     = true
  nullable    = false
}

variable "apply_immediately" {
  description = "Apply modifications at once instead of in the next maintenance window. Named after the RDS setting rather than <feature>_enabled: it says when changes apply, it switches no feature on or off."
  type        = bool
  default     = false
  nullable    = false
}

variable "ca_cert_identifier" {
  description = "Certificate authority for the server certificate clients verify (sslmode=verify-full)."
  type        = string
  default     = "rds-ca-rsa2048-g1"
  nullable    = false

  validation {
    condition     = contains(["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"], var.ca_cert_identifier)
    error_message = "ca_cert_identifier must be one of the current RDS CAs: rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1."
  }
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds; 0 turns it off (and creates no monitoring role)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "performance_insights_enabled" {
  description = "Turn on Performance Insights (encrypted with kms_key_arn)."
  type        = bool
  default     = true
  nullable    = false
}

variable "performance_insights_retention_period" {
  description = "Days Performance Insights data is kept: 7 (free tier), or a multiple of 31 up to 731."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.performance_insights_retention_period == 7 || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period >= 31 && var.performance_insights_retention_period <= 731)
    error_message = "performance_insights_retention_period must be 7, or a multiple of 31 between 31 and 731."
  }
}

variable "log_min_duration_statement_ms" {
  description = "Log every statement that runs longer than this many milliseconds; -1 turns slow-query logging off."
  type        = number
  default     = 1000
  nullable    = false

  validation {
    condition     = var.log_min_duration_statement_ms >= -1 && floor(var.log_min_duration_statement_ms) == var.log_min_duration_statement_ms
    error_message = "log_min_duration_statement_ms must be a whole number, -1 or more."
  }
}

variable "log_statement" {
  description = "Which statements PostgreSQL logs: ddl (schema changes, the default), mod (ddl + data changes) or all. \"none\" is not accepted: schema changes are always audited."
  type        = string
  default     = "ddl"
  nullable    = false

  validation {
    condition     = contains(["ddl", "mod", "all"], var.log_statement)
    error_message = "log_statement must be ddl, mod or all."
  }
}

variable "extra_parameters" {
  description = "Further parameter group settings by name. They cannot override the security settings this module owns (rds.force_ssl, ssl_min_protocol_version, logging)."
  type = map(object({
    value        = string
    apply_method = optional(string, "immediate")
  }))
  default  = {}
  nullable = false

  validation {
    condition     = length(setintersection(keys(var.extra_parameters), ["rds.force_ssl", "ssl_min_protocol_version", "log_connections", "log_disconnections", "log_statement", "log_min_duration_statement", "password_encryption"])) == 0
    error_message = "extra_parameters cannot set rds.force_ssl, ssl_min_protocol_version, password_encryption or the logging parameters; use this module's inputs."
  }
  validation {
    condition     = alltrue([for p in values(var.extra_parameters) : contains(["immediate", "pending-reboot"], p.apply_method)])
    error_message = "extra_parameters[*].apply_method must be immediate or pending-reboot."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups RDS exports postgresql and upgrade logs to."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of the customer-managed KMS key (ferry's logs key) that encrypts the exported log groups. Single- and multi-Region (mrk-) keys are accepted alike; aliases are not."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> with a key id such as 1234abcd-12ab-34cd-56ef-1234567890ab or mrk-1234abcd12ab34cd56ef1234567890ab; aliases are not accepted."
  }
}

variable "tags" {
  description = "Tags added to every resource, merged over the provider's default_tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
