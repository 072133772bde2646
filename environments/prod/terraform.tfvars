# prod: NAT per availability zone, three zones, Multi-AZ database with 35 days
# of backups, COMPLIANCE Object Lock (undeletable, even by root, for a year),
# long log retention, everything deletion-protected.
environment = "prod"

account_id         = "333333333333"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

vpc_cidr = "10.42.0.0/16"
nat_mode = "per_az"

log_retention_days          = 731
audit_log_retention_days    = 2557
trail_bucket_retention_days = 2557

object_lock = {
  mode           = "COMPLIANCE"
  retention_days = 365
}
allow_compliance_object_lock = true

lambda_memory_size          = 2048
lambda_reserved_concurrency = 50
lambda_maximum_concurrency  = 20
table_deletion_protection   = true

db_engine_version        = "16"
db_instance_class        = "db.r7g.large"
db_allocated_storage     = 100
db_max_allocated_storage = 1000
db_multi_az              = true
db_deletion_protection   = true
db_backup_retention_days = 35

macie_schedule            = "daily"
macie_sampling_percentage = 100
