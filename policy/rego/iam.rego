# IAM: least privilege in identity policies, no administrator grants, no
# anonymous trust, no long-lived IAM user credentials.
package ferry.iam

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-IAM-001": {
		"severity": "high",
		"title": "Identity policies allow no wildcard actions (\"*\", \"service:*\", or Allow + NotAction)",
		"controls": ["FSBP IAM.21", "CIS8 6.8"],
	},
	"FERRY-IAM-002": {
		"severity": "high",
		"title": "Write actions are not allowed on Resource \"*\" (except actions without resource-level permissions)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-IAM-003": {
		"severity": "critical",
		"title": "No administrator access: no AdministratorAccess / PowerUserAccess / IAMFullAccess attachment, no \"*\" on \"*\"",
		"controls": ["CIS 1.16", "FSBP IAM.1", "CIS8 5.4", "CIS8 6.8"],
	},
	"FERRY-IAM-004": {
		"severity": "critical",
		"title": "Role trust policies trust no wildcard principal without a condition",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-IAM-005": {
		"severity": "medium",
		"title": "No IAM users: workloads use roles",
		"controls": ["CIS 1.15", "FSBP IAM.2", "CIS8 6.7"],
	},
	"FERRY-IAM-006": {
		"severity": "high",
		"title": "No IAM access keys (long-lived credentials)",
		"controls": ["CIS 1.14", "CIS8 6.7", "CIS8 5.2"],
	},
	"FERRY-IAM-UNKNOWN": {
		"severity": "high",
		"title": "Identity and trust policies are readable at plan time (otherwise FERRY-IAM-001 to 004 could not be evaluated)",
		"controls": [],
	},
}

policy_types := {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}

# Actions that have no resource-level permissions and therefore need "*".
resourceless := {
	"xray:puttracesegments", "xray:puttelemetryrecords", "xray:getsamplingrules",
	"xray:getsamplingtargets", "cloudwatch:putmetricdata",
	"ec2:createnetworkinterface", "ec2:describenetworkinterfaces",
	"ec2:deletenetworkinterface", "ec2:assignprivateipaddresses",
	"ec2:unassignprivateipaddresses", "sts:getcalleridentity",
	"logs:createlogdelivery", "logs:getlogdelivery", "logs:updatelogdelivery",
	"logs:deletelogdelivery", "logs:listlogdeliveries", "logs:putresourcepolicy",
	"logs:describeresourcepolicies", "logs:describeloggroups",
}

read_verbs := ["get", "list", "describe", "head"]

admin_policies := {"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"}

identity_statements contains [p.address, st] if {
	some t in policy_types
	some p in lib.of_type(t)
	some st in lib.statements(p, "policy")
	st.effect == "Allow"
}

wildcard_action(a) if a == "*"

wildcard_action(a) if endswith(a, ":*")

write_action(a) if {
	not wildcard_action(a)
	not lower(a) in resourceless
	verb := lower(split(a, ":")[1])
	not strings.any_prefix_match(verb, read_verbs)
}

write_action(a) if wildcard_action(a)

deny contains msg if {
	some pair in identity_statements
	addr := pair[0]
	st := pair[1]
	some a in st.actions
	wildcard_action(a)
	a != "*"
	msg := lib.msg(rules, "FERRY-IAM-001", addr, concat("", ["allows the wildcard action \"", a, "\"; list the specific actions the workload needs"]))
}

deny contains msg if {
	some pair in identity_statements
	addr := pair[0]
	st := pair[1]
	count(lib.null_to_empty(st.not_actions)) > 0
	msg := lib.msg(rules, "FERRY-IAM-001", addr, "uses Allow with NotAction, which grants every other action; list the allowed actions instead")
}

deny contains msg if {
	some pair in identity_statements
	addr := pair[0]
	st := pair[1]
	"*" in st.resources
	writes := sort([a | some a in st.actions; write_action(a)])
	count(writes) > 0
	not "*" in st.actions
	msg := lib.msg(rules, "FERRY-IAM-002", addr, concat("", ["allows write actions (", concat(", ", writes), ") on Resource \"*\"; scope them to the ARNs they act on"]))
}

deny contains msg if {
	some pair in identity_statements
	addr := pair[0]
	st := pair[1]
	"*" in st.actions
	msg := lib.msg(rules, "FERRY-IAM-003", addr, "allows Action \"*\" (administrator access); grant only the actions and resources the workload needs")
}

attachment_types := {"aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment", "aws_iam_policy_attachment"}

admin_arn(arn) if {
	is_string(arn)
	some name in admin_policies
	endswith(arn, concat("", [":iam::aws:policy/", name]))
}

deny contains msg if {
	some t in attachment_types
	some att in lib.of_type(t)
	admin_arn(lib.after(att).policy_arn)
	msg := lib.msg(rules, "FERRY-IAM-003", att.address, concat("", ["attaches the AWS managed policy ", lib.after(att).policy_arn, "; attach a least-privilege policy instead"]))
}

deny contains msg if {
	some role in lib.of_type("aws_iam_role")
	some arn in lib.null_to_empty(object.get(lib.after(role), "managed_policy_arns", []))
	admin_arn(arn)
	msg := lib.msg(rules, "FERRY-IAM-003", role.address, concat("", ["managed_policy_arns includes ", arn, "; attach a least-privilege policy instead"]))
}

deny contains msg if {
	some role in lib.of_type("aws_iam_role")
	some st in lib.statements(role, "assume_role_policy")
	st.effect == "Allow"
	lib.wildcard_principal(st)
	count(st.conditions) == 0
	msg := lib.msg(rules, "FERRY-IAM-004", role.address, "the trust policy lets any principal (\"*\") assume the role; trust a named service or account, or add a condition such as aws:PrincipalOrgID")
}

deny contains msg if {
	some user in lib.of_type("aws_iam_user")
	msg := lib.msg(rules, "FERRY-IAM-005", user.address, "IAM users carry long-lived identities; use roles (IAM Identity Center for people, service roles for workloads)")
}

deny contains msg if {
	some key in lib.of_type("aws_iam_access_key")
	msg := lib.msg(rules, "FERRY-IAM-006", key.address, "long-lived access key; use role credentials (OIDC federation for CI, instance or function roles for workloads)")
}

# --- could not evaluate ----------------------------------------------------------------

deny contains msg if {
	some t in policy_types
	some p in lib.of_type(t)
	lib.policy_unreadable(p, "policy")
	msg := lib.unknown_msg(rules, "FERRY-IAM-UNKNOWN", p.address, "FERRY-IAM-001, FERRY-IAM-002, FERRY-IAM-003", "the policy document is known only after apply")
}

deny contains msg if {
	some role in lib.of_type("aws_iam_role")
	lib.policy_unreadable(role, "assume_role_policy")
	msg := lib.unknown_msg(rules, "FERRY-IAM-UNKNOWN", role.address, "FERRY-IAM-004", "the trust policy is known only after apply")
}
