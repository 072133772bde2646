# SNS topics: encrypted with a customer-managed key.
package ferry.sns

import data.ferry.lib
import rego.v1

rules := {"FERRY-SNS-001": {
	"severity": "medium",
	"title": "Topics are encrypted with a customer-managed KMS key",
	"controls": ["FSBP SNS.1", "CIS8 3.11"],
}}

aws_managed_key(k) if {
	is_string(k)
	endswith(k, "alias/aws/sns")
}

deny contains msg if {
	some t in lib.of_type("aws_sns_topic")
	not lib.is_set(t, "kms_master_key_id")
	msg := lib.msg(rules, "FERRY-SNS-001", t.address, "the topic is not encrypted; set kms_master_key_id to a customer-managed key that the publishers (events.amazonaws.com, cloudwatch.amazonaws.com) may use")
}

deny contains msg if {
	some t in lib.of_type("aws_sns_topic")
	aws_managed_key(lib.after(t).kms_master_key_id)
	msg := lib.msg(rules, "FERRY-SNS-001", t.address, "the topic uses the AWS managed key alias/aws/sns, whose policy no service publisher can use; set kms_master_key_id to a customer-managed key")
}
