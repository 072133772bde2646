# dev: one engineer's playground. Cheapest shape that is still secure: no NAT
# (AWS services through VPC endpoints), single-AZ database, GOVERNANCE Object
# Lock with a short retention, deletion protection off so it can be torn down.
environment = "dev"

account_id         = "111111111111"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]

vpc_cidr = "10.40.0.0/16"
nat_mode = "none"

log_retention_days          = 365
audit_log_retention_days    = 365
trail_bucket_retention_days = 365

object_lock = {
  mode           = "GOVERNANCE"
  retention_days = 1
}

lambda_memory_size          = 512
lambda_reserved_concurrency = 5
lambda_maximum_concurrency  = 2
table_deletion_protection   = false

db_engine_version        = "16"
db_instance_class        = "db.t4g.medium"
db_allocated_storage     = 20
db_max_allocated_storage = 50
db_multi_az              = false
db_deletion_protection   = false
db_backup_retention_days = 7

macie_schedule            = "weekly"
macie_sampling_percentage = 10
