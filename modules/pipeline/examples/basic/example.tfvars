# Illustrative values: replace with your account's (or module outputs, when
# composing the modules in one root).
account_id              = "111122223333"
storage_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-0000-4000-8000-000000000001"
operational_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-0000-4000-8000-000000000002"
logs_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1a2b3c4d00004000800000000000000f"
bucket_names = {
  raw       = "ferry-example-raw-111122223333"
  processed = "ferry-example-processed-111122223333"
  failed    = "ferry-example-failed-111122223333"
}
subnet_ids         = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
security_group_ids = ["sg-0a1b2c3d4e5f60003"]
package_path       = "../../../../build/processor.zip" # make build
database = {
  host       = "ferry-example.abcdefghijkl.eu-west-1.rds.amazonaws.com"
  name       = "ferry"
  secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry-example-db-AbCdEf"
}
