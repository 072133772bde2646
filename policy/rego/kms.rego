# KMS keys: rotation and key policies without anonymous principals.
package ferry.kms

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-KMS-001": {
		"severity": "medium",
		"title": "Symmetric customer-managed keys rotate automatically",
		"controls": ["CIS 3.6", "FSBP KMS.4", "CIS8 3.11"],
	},
	"FERRY-KMS-002": {
		"severity": "high",
		"title": "Key policy grants nothing to a wildcard principal without a condition",
		"controls": ["FSBP KMS.5", "CIS8 3.3", "CIS8 6.8"],
	},
	"FERRY-KMS-UNKNOWN": {
		"severity": "high",
		"title": "Key policies are readable at plan time (otherwise FERRY-KMS-002 could not be evaluated)",
		"controls": [],
	},
}

symmetric(key) if object.get(lib.after(key), "customer_master_key_spec", "SYMMETRIC_DEFAULT") in {"SYMMETRIC_DEFAULT", null}

deny contains msg if {
	some key in lib.of_type("aws_kms_key")
	symmetric(key)
	object.get(lib.after(key), "key_usage", "ENCRYPT_DECRYPT") in {"ENCRYPT_DECRYPT", null}
	not lib.after(key).enable_key_rotation == true
	msg := lib.msg(rules, "FERRY-KMS-001", key.address, "automatic key rotation is off; set enable_key_rotation = true")
}

deny contains msg if {
	some key in lib.of_type("aws_kms_key")
	some st in lib.statements(key, "policy")
	st.effect == "Allow"
	lib.wildcard_principal(st)
	count(st.conditions) == 0
	msg := lib.msg(rules, "FERRY-KMS-002", key.address, "the key policy allows Principal \"*\" without a condition; name the account root or roles that may use the key, or add a condition such as kms:CallerAccount")
}

deny contains msg if {
	some key in lib.of_type("aws_kms_key")
	lib.configured(key, "policy")
	lib.policy_unreadable(key, "policy")
	msg := lib.unknown_msg(rules, "FERRY-KMS-UNKNOWN", key.address, "FERRY-KMS-002", "the key policy is known only after apply")
}
