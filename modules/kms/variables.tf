variable "name_prefix" {
  description = "Prefix for every name this module creates (aliases become alias/<name_prefix>-<tier>). 3-32 characters: lower-case letters, digits and hyphens, starting with a letter."
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
  description = "AWS account id (12 digits) that owns the keys. Used for the root administration principal and the aws:SourceAccount / kms:CallerAccount conditions. Taken as an input so plans work without calling AWS."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be exactly 12 digits."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period (7-30 days) between scheduling a key for deletion and its deletion. Every object encrypted under a deleted key is lost, so the default is the longest window."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number between 7 and 30."
  }
}

variable "rotation_period_in_days" {
  description = "Automatic key material rotation period (90-2560 days). Rotation is always on."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560 && floor(var.rotation_period_in_days) == var.rotation_period_in_days
    error_message = "rotation_period_in_days must be a whole number between 90 and 2560."
  }
}

variable "key_administrators" {
  description = "IAM role or user ARNs that administer the keys (describe, enable/disable, rotate, tag, alias, policy, schedule/cancel deletion) and create the resources encrypted with them (only kms:Encrypt / kms:GenerateDataKey through Lambda and Secrets Manager, and grants for AWS resources through DynamoDB, RDS and Lambda): typically the role that runs Terraform. Never cryptographic use of data. Empty (the default): the account root stands in, i.e. whoever IAM allows. The root keeps key administration either way, so KMS's lockout safety check passes."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.key_administrators : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "key_administrators entries must be IAM role or user ARNs (arn:<partition>:iam::<12-digit account>:role/<name> or :user/<name>); wildcards and account roots are not accepted."
  }
}

variable "key_users" {
  description = "IAM role or user ARNs that read and write data under each key (kms:Decrypt, kms:GenerateDataKey, kms:DescribeKey), by tier: the only principals of the account that can use a key, whatever their IAM policies say. Example: the processor and dead-letter roles on storage and operational."
  type = object({
    storage     = optional(list(string), [])
    operational = optional(list(string), [])
    logs        = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for arn in concat(var.key_users.storage, var.key_users.operational, var.key_users.logs) :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$", arn))
    ])
    error_message = "key_users entries must be IAM role or user ARNs (arn:<partition>:iam::<12-digit account>:role/<name> or :user/<name>); wildcards and account roots are not accepted."
  }
  validation {
    condition = alltrue([
      for arn in concat(var.key_users.storage, var.key_users.operational, var.key_users.logs) :
      !endswith(arn, ":role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie")
    ])
    error_message = "Macie's service-linked role only decrypts: put it in key_decrypt_only_users, not key_users (which also grants kms:GenerateDataKey)."
  }
}

variable "principal_dependencies" {
  description = "Values that are known once the IAM principals named in key_users, key_decrypt_only_users or key_administrators exist, for principals created in the same apply (for example the roles' ARNs as the role resources report them: the pipeline module's created_role_arns). The keys are created, and their policies changed, only after these: KMS rejects a key policy naming a principal that does not exist yet. Name the principals in key_users by ARNs built from their names, so that the key policies are known at plan time."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "key_decrypt_only_users" {
  description = "IAM role or user ARNs that may only decrypt under each key (kms:Decrypt), by tier. Example: Macie's service-linked role on storage, which reads SSE-KMS objects to classify them."
  type = object({
    storage     = optional(list(string), [])
    operational = optional(list(string), [])
    logs        = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for arn in concat(var.key_decrypt_only_users.storage, var.key_decrypt_only_users.operational, var.key_decrypt_only_users.logs) :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$", arn))
    ])
    error_message = "key_decrypt_only_users entries must be IAM role or user ARNs; wildcards and account roots are not accepted."
  }
}

variable "cloudtrail_source_arns" {
  description = "CloudTrail trail ARNs allowed to encrypt with the logs key. Empty (the default) allows any trail in this account (arn:<partition>:cloudtrail:*:<account_id>:trail/*), which is what a trail created after the key needs."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.cloudtrail_source_arns : can(regex("^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/[A-Za-z0-9._-]+$", arn))])
    error_message = "cloudtrail_source_arns entries must be CloudTrail trail ARNs (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>)."
  }
}

variable "operational_service_principals" {
  description = "AWS service principals that write into encrypted SQS queues and SNS topics on their own behalf and therefore need GenerateDataKey*/Decrypt on the operational key, scoped by encryption context to this deployment's queues (kms:EncryptionContext:aws:sqs:arn, arn:...:sqs:<region>:<account_id>:<name_prefix>-*) and topics (kms:EncryptionContext:aws:sns:topicArn): S3 and SNS write into queues, CloudWatch alarms into topics, EventBridge and Lambda into both. The defaults cover S3 event notifications to SQS, SNS to SQS subscriptions, EventBridge targets and dead-letter queues, and CloudWatch alarm actions."
  type        = list(string)
  default     = ["s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "cloudwatch.amazonaws.com"]
  nullable    = false

  validation {
    condition = alltrue([
      for p in var.operational_service_principals :
      contains(["s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "cloudwatch.amazonaws.com", "lambda.amazonaws.com"], p)
    ])
    error_message = "operational_service_principals accepts only s3.amazonaws.com, sns.amazonaws.com, events.amazonaws.com, cloudwatch.amazonaws.com and lambda.amazonaws.com."
  }
}
