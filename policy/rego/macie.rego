# Macie: enabled wherever the plan manages S3 buckets, with findings routed
# through EventBridge to a target (SNS, Logs).
package ferry.macie

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-MACIE-001": {
		"severity": "medium",
		"title": "Macie is enabled (aws_macie2_account with status ENABLED) in a plan that manages S3 buckets and the account's audit (a CloudTrail trail)",
		"controls": ["CIS 2.1.3", "FSBP Macie.1", "CIS8 3.2"],
	},
	"FERRY-MACIE-002": {
		"severity": "low",
		"title": "Macie findings are routed: an EventBridge rule on source aws.macie with a target",
		"controls": ["CIS8 8.11"],
	},
}

accounts := lib.of_type("aws_macie2_account")

enabled(a) if object.get(lib.after(a), "status", "ENABLED") in {"ENABLED", null}

# modules/audit with create_macie = false: Macie is run by the organisation's
# delegated administrator, and the plan says so (terraform_data.organisation_managed).
organisation_managed if {
	some d in lib.of_type("terraform_data")
	object.get(object.get(lib.after(d), "input", {}), "macie", "") == "organisation"
}

# Macie is an account-level control, set up with the account's audit: a plan
# with a CloudTrail trail is that plan. A module used on its own (buckets
# without the account's audit) is not asked to enable it.
account_audit_plan if count(lib.of_type("aws_cloudtrail")) > 0

deny contains msg if {
	count(lib.of_type("aws_s3_bucket")) > 0
	account_audit_plan
	count(accounts) == 0
	not organisation_managed
	msg := lib.msg(rules, "FERRY-MACIE-001", "aws_macie2_account", "the plan manages S3 buckets but does not enable Macie; add an aws_macie2_account with status = \"ENABLED\" (the audit module does)")
}

deny contains msg if {
	some a in accounts
	not enabled(a)
	msg := lib.msg(rules, "FERRY-MACIE-001", a.address, concat("", ["Macie is ", sprintf("%v", [lib.after(a).status]), "; set status = \"ENABLED\""]))
}

macie_rule(r) if {
	pattern := object.get(lib.after(r), "event_pattern", "")
	is_string(pattern)
	json.is_valid(pattern)
	"aws.macie" in lib.as_array(object.get(json.unmarshal(pattern), "source", []))
}

routed if {
	some r in lib.of_type("aws_cloudwatch_event_rule")
	macie_rule(r)
	some t in lib.of_type("aws_cloudwatch_event_target")
	lib.joined(t, "rule", r, ["name", "id"])
}

deny contains msg if {
	some a in accounts
	enabled(a)
	not routed
	msg := lib.msg(rules, "FERRY-MACIE-002", a.address, "Macie findings go nowhere; add an aws_cloudwatch_event_rule matching source aws.macie and an aws_cloudwatch_event_target (SNS topic, log group)")
}
