# Everything that differs between dev, staging and prod is a variable set in
# terraform.tfvars; main.tf is the same file in every environment.

# --- where ------------------------------------------------------------------------

variable "environment" {
  description = "Environment name: dev, staging or prod. Part of every resource name (<project>-<environment>-...)."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "ferry"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.project))
    error_message = "project must be 2-16 lower case letters and digits, starting with a letter."
  }
}

variable "account_id" {
  description = "AWS account this environment deploys into; the provider refuses any other (allowed_account_ids)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "availability_zones" {
  description = "Availability zones of the VPC (at least two: the database subnet group needs two)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.availability_zones) >= 2 && alltrue([for az in var.availability_zones : startswith(az, var.region)])
    error_message = "availability_zones must list at least two zones of var.region."
  }
}

variable "offline_plan" {
  description = "Plan without AWS credentials (skips credential validation, account lookup and the metadata API). For tests and offline reviews only; a real plan or apply must leave it false."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Extra default tags for every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
  nullable    = false
}

# --- network ------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  nullable    = false
}

variable "nat_mode" {
  description = "NAT for the private subnets: none (AWS services through VPC endpoints only), single or per_az."
  type        = string
  nullable    = false

  validation {
    condition     = contains(["none", "single", "per_az"], var.nat_mode)
    error_message = "nat_mode must be none, single or per_az."
  }
}

# --- retention ---------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of the operational log groups (function, VPC flow logs, database exports)."
  type        = number
  nullable    = false
}

variable "audit_log_retention_days" {
  description = "Retention of the audit log groups (CloudTrail, Macie findings); at least 365."
  type        = number
  nullable    = false
}

variable "trail_bucket_retention_days" {
  description = "Days CloudTrail log files are kept in the trail bucket."
  type        = number
  nullable    = false
}

# --- storage ------------------------------------------------------------------------

variable "object_lock" {
  description = "Object Lock of the processed and failed buckets (mode OFF | GOVERNANCE | COMPLIANCE, retention_days)."
  type = object({
    mode           = string
    retention_days = number
  })
  nullable = false
}

variable "allow_compliance_object_lock" {
  description = "Confirms object_lock.mode = COMPLIANCE (objects undeletable, even by root, until retention ends)."
  type        = bool
  default     = false
  nullable    = false
}

# --- pipeline ------------------------------------------------------------------------

variable "package_path" {
  description = "Path of the processor zip, relative to this directory (`make build` writes it)."
  type        = string
  default     = "../../build/processor.zip"
  nullable    = false
}

variable "package_sha256" {
  description = "Base64 SHA-256 of the zip; null computes it from package_path (the file must then exist at plan time)."
  type        = string
  default     = null
}

variable "lambda_memory_size" {
  description = "Memory of the processor function in MB."
  type        = number
  nullable    = false
}

variable "lambda_reserved_concurrency" {
  description = "Concurrency reserved for the processor function (caps load on the database); -1 for none."
  type        = number
  nullable    = false
}

variable "lambda_maximum_concurrency" {
  description = "Maximum concurrent invocations the SQS event source mapping drives (at most lambda_reserved_concurrency)."
  type        = number
  nullable    = false
}

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection on the ledger, records and metadata tables."
  type        = bool
  nullable    = false
}

variable "alarm_emails" {
  description = "Addresses subscribed to the pipeline's alarm topic (each must confirm)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "security_emails" {
  description = "Addresses subscribed to the Macie findings topic (each must confirm)."
  type        = list(string)
  default     = []
  nullable    = false
}

# --- database ------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL major (or major.minor) version."
  type        = string
  nullable    = false
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  nullable    = false
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB."
  type        = number
  nullable    = false
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  nullable    = false
}

variable "db_multi_az" {
  description = "Multi-AZ standby for the database."
  type        = bool
  nullable    = false
}

variable "db_deletion_protection" {
  description = "Deletion protection of the database."
  type        = bool
  nullable    = false
}

variable "db_backup_retention_days" {
  description = "Days of automated database backups (7-35)."
  type        = number
  nullable    = false
}

# --- audit ---------------------------------------------------------------------------

variable "macie_schedule" {
  description = "How often Macie scans the raw and failed buckets: daily or weekly."
  type        = string
  nullable    = false
}

variable "macie_sampling_percentage" {
  description = "Percentage of eligible objects each Macie run analyses."
  type        = number
  nullable    = false
}
