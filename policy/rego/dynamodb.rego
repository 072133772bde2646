# DynamoDB tables: point-in-time recovery and customer-managed encryption.
package ferry.dynamodb

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-DDB-001": {
		"severity": "medium",
		"title": "Tables have point-in-time recovery",
		"controls": ["FSBP DynamoDB.2", "CIS8 11.2"],
	},
	"FERRY-DDB-002": {
		"severity": "medium",
		"title": "Tables are encrypted with a customer-managed KMS key",
		"controls": ["CIS8 3.11"],
	},
}

tables := lib.of_type("aws_dynamodb_table")

deny contains msg if {
	some t in tables
	not lib.block(lib.after(t), "point_in_time_recovery").enabled == true
	msg := lib.msg(rules, "FERRY-DDB-001", t.address, "point-in-time recovery is off; add point_in_time_recovery { enabled = true }")
}

cmk(t) if {
	sse := lib.block(lib.after(t), "server_side_encryption")
	sse.enabled == true
	k := object.get(sse, "kms_key_arn", "")
	is_string(k)
	k != ""
}

cmk(t) if {
	lib.block(lib.after(t), "server_side_encryption").enabled == true
	lib.block(lib.after_unknown(t), "server_side_encryption").kms_key_arn == true
	lib.config_of(t).expressions.server_side_encryption[0].kms_key_arn
}

deny contains msg if {
	some t in tables
	not cmk(t)
	msg := lib.msg(rules, "FERRY-DDB-002", t.address, "the table uses an AWS owned or AWS managed key; add server_side_encryption { enabled = true, kms_key_arn = <CMK ARN> }")
}
