# RDS: encrypted storage, backups, IAM authentication, TLS enforced by the
# parameter group, minor-version patching; in prod, deletion protection and a
# final snapshot.
package ferry.rds

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-RDS-001": {
		"severity": "high",
		"title": "Database storage is encrypted with a customer-managed KMS key",
		"controls": ["CIS 2.3.1", "FSBP RDS.3", "CIS8 3.11"],
	},
	"FERRY-RDS-002": {
		"severity": "medium",
		"title": "Automated backups are kept for at least 7 days",
		"controls": ["FSBP RDS.11", "CIS8 11.2"],
	},
	"FERRY-RDS-003": {
		"severity": "medium",
		"title": "IAM database authentication is enabled",
		"controls": ["FSBP RDS.10", "CIS8 6.7"],
	},
	"FERRY-RDS-004": {
		"severity": "high",
		"title": "The parameter group forces TLS (rds.force_ssl = 1 / require_secure_transport = 1)",
		"controls": ["CIS8 3.10"],
	},
	"FERRY-RDS-005": {
		"severity": "high",
		"title": "In prod, deletion protection is on",
		"controls": ["FSBP RDS.8", "CIS8 11.3"],
	},
	"FERRY-RDS-006": {
		"severity": "medium",
		"title": "In prod, a final snapshot is taken on deletion",
		"controls": ["CIS8 11.2"],
	},
	"FERRY-RDS-007": {
		"severity": "low",
		"title": "Minor engine versions are upgraded automatically",
		"controls": ["CIS 2.3.2", "FSBP RDS.13", "CIS8 7.4"],
	},
	"FERRY-RDS-008": {
		"severity": "medium",
		"title": "The RDS-managed master password secret is encrypted with a customer-managed KMS key",
		"controls": ["CIS8 3.11"],
	},
	"FERRY-RDS-UNKNOWN": {
		"severity": "high",
		"title": "A database's parameter group is readable at plan time (otherwise FERRY-RDS-004 could not be evaluated)",
		"controls": [],
	},
}

instances := lib.of_type("aws_db_instance")

clusters := lib.of_type("aws_rds_cluster")

databases := array.concat(instances, clusters)

# Aurora encrypts with the cluster's key: aws_rds_cluster_instance has no setting
encrypted_with_cmk(db) if {
	lib.after(db).storage_encrypted == true
	lib.is_set(db, "kms_key_id")
	not aws_managed_key(lib.after(db).kms_key_id)
}

aws_managed_key(k) if {
	is_string(k)
	endswith(k, "alias/aws/rds")
}

deny contains msg if {
	some db in databases
	lib.after(db).storage_encrypted == true
	not encrypted_with_cmk(db)
	msg := lib.msg(rules, "FERRY-RDS-001", db.address, "storage is encrypted with the AWS managed key aws/rds; set kms_key_id to a customer-managed key")
}

deny contains msg if {
	some db in databases
	not lib.after(db).storage_encrypted == true
	msg := lib.msg(rules, "FERRY-RDS-001", db.address, "storage is not encrypted; set storage_encrypted = true and kms_key_id to a customer-managed key")
}

deny contains msg if {
	some db in databases
	days := object.get(lib.after(db), "backup_retention_period", 0)
	is_number(days)
	days < 7
	msg := lib.msg(rules, "FERRY-RDS-002", db.address, concat("", ["backups are kept ", format_int(days, 10), " days; set backup_retention_period to 7 or more"]))
}

deny contains msg if {
	some db in databases
	not lib.after(db).iam_database_authentication_enabled == true
	msg := lib.msg(rules, "FERRY-RDS-003", db.address, "IAM database authentication is off; set iam_database_authentication_enabled = true")
}

# --- FERRY-RDS-004 ---------------------------------------------------------------------

tls_parameters := {
	"rds.force_ssl": {"1", "true", "on"},
	"require_secure_transport": {"1", "true", "on"},
}

forces_tls(group) if {
	some p in lib.blocks(lib.after(group), "parameter")
	lower(sprintf("%v", [p.value])) in tls_parameters[p.name]
}

parameter_group_ok(db) if {
	some g in lib.of_type("aws_db_parameter_group")
	lib.joined(db, "parameter_group_name", g, ["name", "id"])
	forces_tls(g)
}

# a parameter group the plan cannot tell
parameter_group_unresolved(db) if {
	lib.unknown(db, "parameter_group_name")
	lib.configured(db, "parameter_group_name")
	count([g | some g in lib.of_type("aws_db_parameter_group"); lib.joined(db, "parameter_group_name", g, ["name", "id"])]) == 0
}

deny contains msg if {
	some db in instances
	regex.match(`^(postgres|mysql|mariadb)`, object.get(lib.after(db), "engine", ""))
	parameter_group_unresolved(db)
	msg := lib.unknown_msg(rules, "FERRY-RDS-UNKNOWN", db.address, "FERRY-RDS-004", "the parameter group is known only after apply and is not an aws_db_parameter_group of this plan")
}

# Aurora: TLS is forced by the cluster parameter group
cluster_group_ok(db) if {
	some g in lib.of_type("aws_rds_cluster_parameter_group")
	lib.joined(db, "db_cluster_parameter_group_name", g, ["name", "id"])
	forces_tls(g)
}

cluster_group_unresolved(db) if {
	lib.unknown(db, "db_cluster_parameter_group_name")
	lib.configured(db, "db_cluster_parameter_group_name")
	count([g | some g in lib.of_type("aws_rds_cluster_parameter_group"); lib.joined(db, "db_cluster_parameter_group_name", g, ["name", "id"])]) == 0
}

deny contains msg if {
	some db in clusters
	regex.match(`^aurora`, object.get(lib.after(db), "engine", "aurora"))
	not cluster_group_ok(db)
	not cluster_group_unresolved(db)
	msg := lib.msg(rules, "FERRY-RDS-004", db.address, "clients may connect without TLS; use an aws_rds_cluster_parameter_group with rds.force_ssl = 1 (Aurora PostgreSQL) or require_secure_transport = ON (Aurora MySQL)")
}

deny contains msg if {
	some db in clusters
	cluster_group_unresolved(db)
	msg := lib.unknown_msg(rules, "FERRY-RDS-UNKNOWN", db.address, "FERRY-RDS-004", "the cluster parameter group is known only after apply and is not an aws_rds_cluster_parameter_group of this plan")
}

deny contains msg if {
	some db in instances
	regex.match(`^(postgres|mysql|mariadb)`, object.get(lib.after(db), "engine", ""))
	not parameter_group_ok(db)
	not parameter_group_unresolved(db)
	msg := lib.msg(rules, "FERRY-RDS-004", db.address, "clients may connect without TLS; use an aws_db_parameter_group with rds.force_ssl = 1 (PostgreSQL) or require_secure_transport = 1 (MySQL)")
}

deny contains msg if {
	some db in databases
	lib.in_prod(db)
	not lib.after(db).deletion_protection == true
	msg := lib.msg(rules, "FERRY-RDS-005", db.address, "deletion protection is off in prod; set deletion_protection = true")
}

deny contains msg if {
	some db in databases
	lib.in_prod(db)
	lib.after(db).skip_final_snapshot == true
	msg := lib.msg(rules, "FERRY-RDS-006", db.address, "no final snapshot in prod; set skip_final_snapshot = false and a final_snapshot_identifier")
}

deny contains msg if {
	some db in instances
	lib.after(db).auto_minor_version_upgrade == false
	msg := lib.msg(rules, "FERRY-RDS-007", db.address, "minor engine upgrades are off; set auto_minor_version_upgrade = true")
}

deny contains msg if {
	some db in databases
	lib.after(db).manage_master_user_password == true
	not lib.is_set(db, "master_user_secret_kms_key_id")
	msg := lib.msg(rules, "FERRY-RDS-008", db.address, "the RDS-managed master password secret uses the AWS managed key aws/secretsmanager; set master_user_secret_kms_key_id to a customer-managed key")
}
