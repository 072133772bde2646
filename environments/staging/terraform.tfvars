# staging: prod's shape at a smaller size, to rehearse changes. One NAT gateway,
# Multi-AZ database and deletion protection as in prod, GOVERNANCE Object Lock.
environment = "staging"

account_id         = "222222222222"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]

vpc_cidr = "10.41.0.0/16"
nat_mode = "single"

log_retention_days          = 365
audit_log_retention_days    = 365
trail_bucket_retention_days = 730

object_lock = {
  mode           = "GOVERNANCE"
  retention_days = 7
}

lambda_memory_size          = 1024
lambda_reserved_concurrency = 10
lambda_maximum_concurrency  = 5
table_deletion_protection   = true

db_engine_version        = "16"
db_instance_class        = "db.t4g.large"
db_allocated_storage     = 50
db_max_allocated_storage = 200
db_multi_az              = true
db_deletion_protection   = true
db_backup_retention_days = 14

macie_schedule            = "daily"
macie_sampling_percentage = 50
