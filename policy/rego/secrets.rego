# Secrets: Secrets Manager secrets under a customer-managed key; database
# master passwords managed by RDS in Secrets Manager, never in the plan or state.
package ferry.secrets

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-SEC-001": {
		"severity": "medium",
		"title": "Secrets Manager secrets are encrypted with a customer-managed KMS key",
		"controls": ["CIS8 3.11"],
	},
	"FERRY-SEC-002": {
		"severity": "high",
		"title": "Database master passwords are managed by RDS in Secrets Manager (no password argument)",
		"controls": ["CIS8 3.11", "CIS8 5.2"],
	},
}

deny contains msg if {
	some s in lib.of_type("aws_secretsmanager_secret")
	not lib.is_set(s, "kms_key_id")
	msg := lib.msg(rules, "FERRY-SEC-001", s.address, "the secret uses the AWS managed key aws/secretsmanager; set kms_key_id to a customer-managed key")
}

password_given(db) if {
	p := object.get(lib.after(db), "password", null)
	is_string(p)
	p != ""
}

password_given(db) if lib.configured(db, "password")

deny contains msg if {
	some t in ["aws_db_instance", "aws_rds_cluster"]
	some db in lib.of_type(t)
	password_given(db)
	msg := lib.msg(rules, "FERRY-SEC-002", db.address, "the master password is set in configuration and ends up in the plan and state; remove password and set manage_master_user_password = true")
}
