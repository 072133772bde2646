# Logging and audit: CloudWatch log groups keep logs for a bounded time under a
# customer-managed key; CloudTrail covers every region, validates its files,
# encrypts them and records S3 data events.
package ferry.logging

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-LOG-001": {
		"severity": "medium",
		"title": "Log groups have a retention period",
		"controls": ["FSBP CloudWatch.16", "CIS8 8.3", "CIS8 8.10"],
	},
	"FERRY-LOG-002": {
		"severity": "medium",
		"title": "Log groups are encrypted with a customer-managed KMS key",
		"controls": ["CIS8 3.11"],
	},
	"FERRY-LOG-003": {
		"severity": "high",
		"title": "CloudTrail trails are multi-region",
		"controls": ["CIS 3.1", "FSBP CloudTrail.1", "CIS8 8.2"],
	},
	"FERRY-LOG-004": {
		"severity": "medium",
		"title": "CloudTrail log file validation is enabled",
		"controls": ["CIS 3.2", "FSBP CloudTrail.4", "CIS8 8.11"],
	},
	"FERRY-LOG-005": {
		"severity": "medium",
		"title": "CloudTrail logs are encrypted with a customer-managed KMS key",
		"controls": ["CIS 3.5", "FSBP CloudTrail.2", "CIS8 3.11"],
	},
	"FERRY-LOG-006": {
		"severity": "medium",
		"title": "CloudTrail records S3 object-level (data) events",
		"controls": ["CIS 3.8", "CIS 3.9", "FSBP S3.22", "FSBP S3.23", "CIS8 3.14", "CIS8 8.5"],
	},
	"FERRY-LOG-007": {
		"severity": "high",
		"title": "CloudTrail trails are logging (enable_logging is not false)",
		"controls": ["CIS 3.1", "FSBP CloudTrail.1", "CIS8 8.2"],
	},
	"FERRY-LOG-008": {
		"severity": "medium",
		"title": "Log groups keep logs at least the minimum retention (data.ferry_settings.min_log_retention_days, 365 by default)",
		"controls": ["FSBP CloudWatch.16", "CIS8 8.10"],
	},
}

deny contains msg if {
	some g in lib.of_type("aws_cloudwatch_log_group")
	object.get(lib.after(g), "retention_in_days", 0) in {0, null}
	msg := lib.msg(rules, "FERRY-LOG-001", g.address, "logs never expire; set retention_in_days (for example 90, or 365 for audit logs)")
}

# FSBP CloudWatch.16 expects 365 days unless told otherwise: the minimum is an
# input (conftest/opa: -d settings.json with {"ferry_settings": {...}})
min_retention_days := data.ferry_settings.min_log_retention_days if {
	is_number(data.ferry_settings.min_log_retention_days)
} else := 365

deny contains msg if {
	some g in lib.of_type("aws_cloudwatch_log_group")
	days := object.get(lib.after(g), "retention_in_days", 0)
	is_number(days)
	days > 0
	days < min_retention_days
	msg := lib.msg(rules, "FERRY-LOG-008", g.address, concat("", ["logs are kept ", format_int(days, 10), " days, less than the minimum of ", format_int(min_retention_days, 10), "; set retention_in_days to at least ", format_int(min_retention_days, 10)]))
}

deny contains msg if {
	some g in lib.of_type("aws_cloudwatch_log_group")
	not lib.is_set(g, "kms_key_id")
	msg := lib.msg(rules, "FERRY-LOG-002", g.address, "the log group is not encrypted with a customer-managed key; set kms_key_id to a CMK whose policy allows logs.<region>.amazonaws.com")
}

trails := lib.of_type("aws_cloudtrail")

deny contains msg if {
	some t in trails
	not lib.after(t).is_multi_region_trail == true
	msg := lib.msg(rules, "FERRY-LOG-003", t.address, "the trail covers one region only; set is_multi_region_trail = true")
}

deny contains msg if {
	some t in trails
	not lib.after(t).enable_log_file_validation == true
	msg := lib.msg(rules, "FERRY-LOG-004", t.address, "log file validation is off; set enable_log_file_validation = true")
}

deny contains msg if {
	some t in trails
	not lib.is_set(t, "kms_key_id")
	msg := lib.msg(rules, "FERRY-LOG-005", t.address, "trail logs are not encrypted with a customer-managed key; set kms_key_id to a CMK whose policy allows cloudtrail.amazonaws.com")
}

s3_data_events(t) if {
	some s in lib.blocks(lib.after(t), "event_selector")
	some d in lib.blocks(s, "data_resource")
	d.type == "AWS::S3::Object"
}

s3_data_events(t) if {
	some s in lib.blocks(lib.after(t), "advanced_event_selector")
	some f in lib.blocks(s, "field_selector")
	f.field == "resources.type"
	"AWS::S3::Object" in lib.null_to_empty(f.equals)
}

deny contains msg if {
	some t in trails
	not s3_data_events(t)
	msg := lib.msg(rules, "FERRY-LOG-006", t.address, "S3 data events are not recorded; add an advanced_event_selector with eventCategory = Data and resources.type = AWS::S3::Object (for the data buckets at least)")
}

deny contains msg if {
	some t in trails
	lib.after(t).enable_logging == false
	msg := lib.msg(rules, "FERRY-LOG-007", t.address, "the trail records nothing (enable_logging = false); remove enable_logging or set it to true")
}
