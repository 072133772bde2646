variable "name_prefix" {
  description = "Prefix for every name this module creates (trail, buckets, log groups, topic, rule, job). Lower case letters, digits and hyphens."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix)) && !strcontains(var.name_prefix, "--")
    error_message = "name_prefix must be 3-40 characters: lower case letters, digits and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "account_id" {
  description = "AWS account id the trail, bucket and Macie job belong to (used to build ARNs and scope service principals)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of the customer-managed KMS key for CloudTrail log files, the trail bucket and the CloudWatch log groups (ferry's logs key; its policy must let CloudTrail and CloudWatch Logs use it)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be the ARN of a customer-managed KMS key, arn:<partition>:kms:<region>:<account>:key/<uuid> or key/mrk-<32 hex>; aliases are not accepted."
  }
}

variable "findings_kms_key_arn" {
  description = "ARN of the customer-managed KMS key (single- or multi-Region) for the findings SNS topic (ferry's operational key; its policy must let events.amazonaws.com generate data keys). Required unless existing_sns_topic_arn is given; ignored then."
  type        = string
  default     = null

  validation {
    condition     = var.findings_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$", var.findings_kms_key_arn))
    error_message = "findings_kms_key_arn must be the ARN of a customer-managed KMS key, arn:<partition>:kms:<region>:<account>:key/<uuid> or key/mrk-<32 hex>."
  }
  validation {
    condition     = var.existing_sns_topic_arn != null || var.findings_kms_key_arn != null
    error_message = "findings_kms_key_arn is required when the module creates the findings topic (existing_sns_topic_arn = null)."
  }
}

variable "data_event_bucket_arns" {
  description = "ARNs of the buckets whose object-level operations (GetObject, PutObject, DeleteObject, ...) the trail records as S3 data events: ferry's raw, processed and failed buckets. At least one while create_trail is true; unused without a trail."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = !var.create_trail || length(var.data_event_bucket_arns) >= 1
    error_message = "data_event_bucket_arns must list at least one bucket: object access to the data buckets is always audited."
  }
  validation {
    condition     = alltrue([for arn in var.data_event_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "data_event_bucket_arns entries must be bucket ARNs (arn:<partition>:s3:::<bucket>), without a key part or wildcard."
  }
}

variable "macie_bucket_names" {
  description = "Buckets Macie's scheduled classification job scans for sensitive data: ferry's raw and failed buckets. At least one while the job is created (create_macie and macie_classification_job_enabled)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for name in var.macie_bucket_names : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name))])
    error_message = "macie_bucket_names entries must be S3 bucket names."
  }
  validation {
    condition     = !(var.create_macie && var.macie_classification_job_enabled) || length(var.macie_bucket_names) >= 1
    error_message = "macie_bucket_names must list at least one bucket while macie_classification_job_enabled is true."
  }
}

variable "access_log_bucket_name" {
  description = "Bucket that receives S3 server access logs of the trail bucket (the storage module's access-log bucket); null turns access logging of the trail bucket off."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be an S3 bucket name or null."
  }
}

variable "trail_logging_enabled" {
  description = "Whether the trail records events. Switch off only for emulators: the moto emulator cannot StartLogging a trail."
  type        = bool
  default     = true
  nullable    = false
}

variable "trail_log_retention_days" {
  description = "Retention of the trail's CloudWatch log group (searchable copy)."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.trail_log_retention_days)
    error_message = "trail_log_retention_days must be at least a year, as a value CloudWatch Logs accepts: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "trail_bucket_retention_days" {
  description = "Days CloudTrail log files are kept in the trail bucket before they expire (the long-term, integrity-validated record)."
  type        = number
  default     = 730
  nullable    = false

  validation {
    condition     = var.trail_bucket_retention_days >= 365 && var.trail_bucket_retention_days <= 3653 && floor(var.trail_bucket_retention_days) == var.trail_bucket_retention_days
    error_message = "trail_bucket_retention_days must be a whole number of days between 365 and 3653."
  }
}

variable "create_trail" {
  description = "Create ferry's CloudTrail trail with its bucket, CloudWatch log group and delivery role. Set false where an organisation trail already records this account's management events and the data buckets' S3 data events (see the README for what it must cover); trail outputs are then null."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_macie" {
  description = "Create anything of Macie here: the Macie account, its service-linked role and the classification job. Set false where Macie is managed by the organisation (a delegated Macie administrator enables it for this account and runs classification jobs over the data buckets). The findings route (EventBridge to SNS and Logs) stays either way."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_macie_account" {
  description = "Enable Macie for the account and region here (with create_macie). Set false when Macie is already enabled but ferry still runs its own classification job; for organisation-managed Macie use create_macie = false."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_macie_service_linked_role" {
  description = "Create Macie's service-linked role (AWSServiceRoleForAmazonMacie). Set false when it already exists in the account (Macie enabled before) or import it. Its ARN (output macie_service_role_arn) must be a user of the key that encrypts the scanned buckets."
  type        = bool
  default     = true
  nullable    = false
}

variable "macie_finding_publishing_frequency" {
  description = "How often Macie publishes updates to existing findings to EventBridge (new findings are always published at once)."
  type        = string
  default     = "FIFTEEN_MINUTES"
  nullable    = false

  validation {
    condition     = contains(["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"], var.macie_finding_publishing_frequency)
    error_message = "macie_finding_publishing_frequency must be FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  }
}

variable "macie_classification_job_enabled" {
  description = "Create the scheduled Macie classification job over macie_bucket_names. Switch off only for emulators: the moto emulator has no Macie classification jobs."
  type        = bool
  default     = true
  nullable    = false
}

variable "macie_schedule" {
  description = "How often the classification job scans new and changed objects: daily, or weekly on macie_weekly_day."
  type        = string
  default     = "daily"
  nullable    = false

  validation {
    condition     = contains(["daily", "weekly"], var.macie_schedule)
    error_message = "macie_schedule must be daily or weekly."
  }
}

variable "macie_weekly_day" {
  description = "Day of the weekly run when macie_schedule is weekly."
  type        = string
  default     = "MONDAY"
  nullable    = false

  validation {
    condition     = contains(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], var.macie_weekly_day)
    error_message = "macie_weekly_day must be a day name in capitals, e.g. MONDAY."
  }
}

variable "macie_sampling_percentage" {
  description = "Percentage of eligible objects each run analyses; lower values bound Macie's cost on large buckets."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.macie_sampling_percentage >= 1 && var.macie_sampling_percentage <= 100 && floor(var.macie_sampling_percentage) == var.macie_sampling_percentage
    error_message = "macie_sampling_percentage must be a whole number between 1 and 100."
  }
}

variable "notification_emails" {
  description = "Addresses subscribed to the findings topic this module creates (each receives a confirmation mail and must accept it). Empty with existing_sns_topic_arn: that topic's subscriptions belong to its owner."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails entries must be e-mail addresses."
  }
  validation {
    condition     = var.existing_sns_topic_arn == null || length(var.notification_emails) == 0
    error_message = "notification_emails subscribe to the topic this module creates; with existing_sns_topic_arn, subscribe the addresses to that topic where it is managed."
  }
}

variable "existing_sns_topic_arn" {
  description = "An SNS topic that exists, to receive the Macie findings instead of one created here: no topic, topic policy or subscription is created. Its policy must let events.amazonaws.com publish (aws:SourceArn = output findings_rule_arn) and, if it is encrypted, its key must let EventBridge generate data keys."
  type        = string
  default     = null

  validation {
    condition     = var.existing_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.existing_sns_topic_arn))
    error_message = "existing_sns_topic_arn must be an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>), or null."
  }
}

variable "findings_log_retention_days" {
  description = "Retention of the log group that keeps every Macie finding event."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.findings_log_retention_days)
    error_message = "findings_log_retention_days must be at least a year, as a value CloudWatch Logs accepts: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
