mock_data "aws_partition" {
  defaults = { partition = "aws" }
}
mock_data "aws_region" {
  defaults = { name = "eu-west-1", id = "eu-west-1", region = "eu-west-1" }
}
mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}
mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111" }
}
mock_resource "aws_subnet" {
  defaults = { id = "subnet-0a1b2c3d4e5f60001" }
}
mock_resource "aws_security_group" {
  defaults = { id = "sg-0a1b2c3d4e5f60003" }
}
mock_resource "aws_vpc" {
  defaults = { id = "vpc-0a1b2c3d4e5f60789" }
}
mock_resource "aws_sqs_queue" {
  defaults = { arn = "arn:aws:sqs:eu-west-1:111122223333:ferry-test-ingest" }
}
mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:eu-west-1:111122223333:ferry-test-alarms" }
}
mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:mocked" }
}
mock_resource "aws_cloudwatch_event_rule" {
  defaults = { arn = "arn:aws:events:eu-west-1:111122223333:rule/mocked" }
}
mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::111122223333:role/mocked" }
}
mock_resource "aws_secretsmanager_secret" {
  defaults = { arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ferry-test/database-AbCdEf" }
}
mock_resource "aws_db_instance" {
  defaults = { address = "ferry-test.abc.eu-west-1.rds.amazonaws.com", port = 5432, resource_id = "db-ABCDEFGHIJKLMNOP", master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-AbCdEf", kms_key_id = "", secret_status = "active" }] }
}
