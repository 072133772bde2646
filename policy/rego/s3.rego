# S3 buckets: encryption, versioning, public access, ownership, TLS, logging,
# lifecycle and Object Lock. Settings live in separate resources joined to the
# bucket (see ferry.lib); a setting whose bucket cannot be resolved from the
# plan suppresses the matching "missing" rule instead of raising a false alarm.
package ferry.s3

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-S3-001": {
		"severity": "high",
		"title": "Buckets are encrypted by default with a customer-managed KMS key (SSE-KMS); access-log buckets, which S3 cannot deliver to under SSE-KMS, with SSE-S3",
		"controls": ["FSBP S3.17", "CIS8 3.11"],
	},
	"FERRY-S3-002": {
		"severity": "medium",
		"title": "Bucket versioning is enabled",
		"controls": ["FSBP S3.14", "CIS8 11.3"],
	},
	"FERRY-S3-003": {
		"severity": "high",
		"title": "All four public access block settings are on",
		"controls": ["CIS 2.1.4", "FSBP S3.8", "CIS8 3.3"],
	},
	"FERRY-S3-004": {
		"severity": "medium",
		"title": "Object ownership is BucketOwnerEnforced (ACLs disabled)",
		"controls": ["FSBP S3.12", "CIS8 3.3"],
	},
	"FERRY-S3-005": {
		"severity": "high",
		"title": "Bucket policy denies requests without TLS (aws:SecureTransport = false)",
		"controls": ["CIS 2.1.1", "FSBP S3.5", "CIS8 3.10"],
	},
	"FERRY-S3-006": {
		"severity": "medium",
		"title": "Server access logging is enabled (buckets that receive access logs are exempt)",
		"controls": ["CIS 3.4", "FSBP S3.9", "CIS8 8.2", "CIS8 3.14"],
	},
	"FERRY-S3-007": {
		"severity": "low",
		"title": "A lifecycle configuration with at least one enabled rule exists",
		"controls": ["FSBP S3.13", "CIS8 3.4"],
	},
	"FERRY-S3-008": {
		"severity": "high",
		"title": "In prod, processed and failed buckets have Object Lock with a default retention",
		"controls": ["FSBP S3.15", "CIS8 11.3"],
	},
	"FERRY-S3-009": {
		"severity": "critical",
		"title": "No public canned ACL (public-read, public-read-write, authenticated-read)",
		"controls": ["FSBP S3.2", "FSBP S3.3", "CIS8 3.3"],
	},
	"FERRY-S3-010": {
		"severity": "critical",
		"title": "Bucket policy grants nothing to an anonymous principal without a condition",
		"controls": ["FSBP S3.2", "FSBP S3.3", "CIS8 3.3"],
	},
	"FERRY-S3-UNKNOWN": {
		"severity": "high",
		"title": "Bucket policies, and the bucket a setting belongs to, are readable at plan time (otherwise FERRY-S3-001 to 010 could not be evaluated)",
		"controls": [],
	},
}

buckets := lib.of_type("aws_s3_bucket")

name_attrs := ["bucket", "id"]

setting_types := {
	"aws_s3_bucket_server_side_encryption_configuration",
	"aws_s3_bucket_versioning",
	"aws_s3_bucket_public_access_block",
	"aws_s3_bucket_ownership_controls",
	"aws_s3_bucket_policy",
	"aws_s3_bucket_logging",
	"aws_s3_bucket_lifecycle_configuration",
	"aws_s3_bucket_object_lock_configuration",
}

# "<type>|<bucket address>" -> positions of the settings of that type that
# belong to that bucket (computed once; rules look them up)
joined_settings[key] contains i if {
	some type in setting_types
	some i in object.get(lib.type_index, type, set())
	c := input.resource_changes[i]
	some bucket in buckets
	lib.joined(c, "bucket", bucket, name_attrs)
	key := concat("|", [type, bucket.address])
}

joined_setting_positions contains i if {
	some key
	some i in joined_settings[key]
}

# the setting resources of `type` that belong to `bucket`
setting(bucket, type) := [input.resource_changes[i] |
	some i in object.get(joined_settings, concat("|", [type, bucket.address]), set())
]

# types with a setting whose bucket the plan cannot tell: the "missing" rule
# for that type stays silent rather than guess
ambiguous_types contains type if {
	some type in setting_types
	some i in object.get(lib.type_index, type, set())
	not i in joined_setting_positions
	lib.unresolved(input.resource_changes[i], "bucket")
}

ambiguous(type) if type in ambiguous_types

# --- FERRY-S3-001 -------------------------------------------------------------------

cmk_default(c) if {
	some i, r in lib.after(c).rule
	some j, d in r.apply_server_side_encryption_by_default
	d.sse_algorithm in {"aws:kms", "aws:kms:dsse"}
	key_given(object.get(d, "kms_master_key_id", null), lib.after_unknown(c), i, j)
}

key_given(k, _, _, _) if {
	is_string(k)
	k != ""
}

key_given(_, unknown, i, j) if unknown.rule[i].apply_server_side_encryption_by_default[j].kms_master_key_id == true

encrypted(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_server_side_encryption_configuration")
	cmk_default(c)
}

# legacy inline block on aws_s3_bucket
encrypted(bucket) if {
	some i, conf in lib.after(bucket).server_side_encryption_configuration
	some j, r in conf.rule
	some k, d in r.apply_server_side_encryption_by_default
	d.sse_algorithm in {"aws:kms", "aws:kms:dsse"}
	inline_key_given(bucket, d, i, j, k)
}

inline_key_given(_, d, _, _, _) if {
	is_string(d.kms_master_key_id)
	d.kms_master_key_id != ""
}

# a key ARN known only after apply (a key created in the same plan)
inline_key_given(bucket, _, i, j, k) if {
	u := lib.after_unknown(bucket).server_side_encryption_configuration[i]
	u.rule[j].apply_server_side_encryption_by_default[k].kms_master_key_id == true
}

# S3 server access logs cannot be delivered to an SSE-KMS bucket: a bucket that
# receives them needs default encryption, with SSE-S3 allowed
sse_s3(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_server_side_encryption_configuration")
	some r in lib.after(c).rule
	some d in r.apply_server_side_encryption_by_default
	d.sse_algorithm == "AES256"
}

sse_s3(bucket) if {
	some conf in lib.after(bucket).server_side_encryption_configuration
	some r in conf.rule
	some d in r.apply_server_side_encryption_by_default
	d.sse_algorithm == "AES256"
}

deny contains msg if {
	some bucket in buckets
	not encrypted(bucket)
	not log_target_with_sse_s3(bucket)
	not ambiguous("aws_s3_bucket_server_side_encryption_configuration")
	msg := lib.msg(rules, "FERRY-S3-001", bucket.address, "no SSE-KMS default encryption with a customer-managed key; add an aws_s3_bucket_server_side_encryption_configuration with sse_algorithm = \"aws:kms\" and kms_master_key_id = <CMK ARN>")
}

# --- FERRY-S3-002 -------------------------------------------------------------------

versioned(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_versioning")
	some v in lib.after(c).versioning_configuration
	v.status == "Enabled"
}

versioned(bucket) if {
	some v in lib.after(bucket).versioning
	v.enabled == true
}

deny contains msg if {
	some bucket in buckets
	not versioned(bucket)
	not ambiguous("aws_s3_bucket_versioning")
	msg := lib.msg(rules, "FERRY-S3-002", bucket.address, "versioning is not enabled; add an aws_s3_bucket_versioning with versioning_configuration { status = \"Enabled\" }")
}

# --- FERRY-S3-003 -------------------------------------------------------------------

pab_flags := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

public_access_blocked(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_public_access_block")
	every f in pab_flags {
		lib.after(c)[f] == true
	}
}

deny contains msg if {
	some bucket in buckets
	not public_access_blocked(bucket)
	not ambiguous("aws_s3_bucket_public_access_block")
	msg := lib.msg(rules, "FERRY-S3-003", bucket.address, "public access is not fully blocked; add an aws_s3_bucket_public_access_block with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all true")
}

# --- FERRY-S3-004 -------------------------------------------------------------------

owner_enforced(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_ownership_controls")
	some r in lib.after(c).rule
	r.object_ownership == "BucketOwnerEnforced"
}

deny contains msg if {
	some bucket in buckets
	not owner_enforced(bucket)
	not ambiguous("aws_s3_bucket_ownership_controls")
	msg := lib.msg(rules, "FERRY-S3-004", bucket.address, "ACLs are not disabled; add an aws_s3_bucket_ownership_controls with object_ownership = \"BucketOwnerEnforced\"")
}

# --- FERRY-S3-005 -------------------------------------------------------------------

denies_plain_http(st) if {
	st.effect == "Deny"
	lib.wildcard_principal(st)
	some a in st.actions
	a in {"*", "s3:*"}
	some c in st.conditions
	lower(c.variable) == "aws:securetransport"
	some v in c.values
	lower(sprintf("%v", [v])) == "false"
}

tls_only(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_policy")
	some st in lib.statements(c, "policy")
	denies_plain_http(st)
}

# a bucket policy whose document cannot be read at plan time
policy_unreadable(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_policy")
	lib.unknown(c, "policy")
	count(lib.statements(c, "policy")) == 0
}

deny contains msg if {
	some bucket in buckets
	not tls_only(bucket)
	not policy_unreadable(bucket)
	not ambiguous("aws_s3_bucket_policy")
	msg := lib.msg(rules, "FERRY-S3-005", bucket.address, "no bucket policy statement denies plain-HTTP requests; add an aws_s3_bucket_policy with a Deny of s3:* for Principal \"*\" when aws:SecureTransport is \"false\"")
}

# --- FERRY-S3-006 -------------------------------------------------------------------

logs_access(bucket) if count(setting(bucket, "aws_s3_bucket_logging")) > 0

logs_access(bucket) if {
	some l in lib.after(bucket).logging
	is_string(l.target_bucket)
	l.target_bucket != ""
}

# an inline logging block whose target is known only after apply
logs_access(bucket) if {
	some l in lib.after_unknown(bucket).logging
	l.target_bucket == true
}

log_target_with_sse_s3(bucket) if {
	log_target(bucket)
	sse_s3(bucket)
}

log_target(bucket) if {
	some c in lib.of_type("aws_s3_bucket_logging")
	lib.joined(c, "target_bucket", bucket, name_attrs)
}

# another bucket's inline (pre-v4) logging block delivers here: by known name
log_target(bucket) if {
	some other in buckets
	some l in lib.after(other).logging
	is_string(l.target_bucket)
	some a in name_attrs
	lib.known(bucket, a)
	lib.after(bucket)[a] == l.target_bucket
}

# ... or by reference in the configuration (the name is known only after apply)
log_target(bucket) if {
	some other in buckets
	some l in object.get(lib.config_of(other), ["expressions", "logging"], [])
	some r in object.get(l, ["target_bucket", "references"], [])
	ref := lib.parse_ref(r)
	ref.base == lib.config_address(bucket)
	lib.module_of(other) == lib.module_of(bucket)
	lib.index_matches(lib.any_if_null(ref.index), bucket)
}

deny contains msg if {
	some bucket in buckets
	not logs_access(bucket)
	not log_target(bucket)
	not ambiguous("aws_s3_bucket_logging")
	msg := lib.msg(rules, "FERRY-S3-006", bucket.address, "server access logging is off; add an aws_s3_bucket_logging that targets the access-log bucket")
}

# --- FERRY-S3-007 -------------------------------------------------------------------

has_lifecycle(bucket) if {
	some c in setting(bucket, "aws_s3_bucket_lifecycle_configuration")
	some r in lib.after(c).rule
	r.status == "Enabled"
}

has_lifecycle(bucket) if {
	some r in lib.after(bucket).lifecycle_rule
	r.enabled == true
}

deny contains msg if {
	some bucket in buckets
	not has_lifecycle(bucket)
	not ambiguous("aws_s3_bucket_lifecycle_configuration")
	msg := lib.msg(rules, "FERRY-S3-007", bucket.address, "no enabled lifecycle rule; add an aws_s3_bucket_lifecycle_configuration (expire noncurrent versions, abort incomplete multipart uploads)")
}

# --- FERRY-S3-008 -------------------------------------------------------------------

locked_roles := {"processed", "failed"}

# a bucket's role: its Role or ferry:bucket-role tag, its for_each key, the key
# of the module instance it lives in (module.data_bucket["failed"]), or a name
# with -<role> as a whole word (ferry-prod-failed-333333333333, x-processed)
role(bucket) := lower(tags_role) if {
	some tag in ["Role", "ferry:bucket-role"]
	tags_role := lib.after(bucket).tags_all[tag]
	is_string(tags_role)
} else := lower(bucket.index) if {
	is_string(bucket.index)
} else := lower(module_key) if {
	module_key := lib.literal_index(lib.module_of(bucket))
	is_string(module_key)
} else := r if {
	name := lib.after(bucket).bucket
	is_string(name)
	some r in locked_roles
	regex.match(concat("", ["(^|-)", r, "(-|$)"]), name)
} else := ""

object_locked(bucket) if {
	lib.after(bucket).object_lock_enabled == true
	some c in setting(bucket, "aws_s3_bucket_object_lock_configuration")
	some r in lib.after(c).rule
	some d in r.default_retention
	d.mode in {"GOVERNANCE", "COMPLIANCE"}
}

deny contains msg if {
	some bucket in buckets
	role(bucket) in locked_roles
	lib.in_prod(bucket)
	not object_locked(bucket)
	not ambiguous("aws_s3_bucket_object_lock_configuration")
	msg := lib.msg(rules, "FERRY-S3-008", bucket.address, concat("", [role(bucket), " bucket in prod without Object Lock; set object_lock_enabled = true and add an aws_s3_bucket_object_lock_configuration with a default_retention (GOVERNANCE or COMPLIANCE)"]))
}

# --- FERRY-S3-009 -------------------------------------------------------------------

public_acls := {"public-read", "public-read-write", "authenticated-read"}

deny contains msg if {
	some c in lib.of_type("aws_s3_bucket_acl")
	lib.after(c).acl in public_acls
	msg := lib.msg(rules, "FERRY-S3-009", c.address, concat("", ["canned ACL \"", lib.after(c).acl, "\" makes the bucket public; remove the ACL and keep object ownership BucketOwnerEnforced"]))
}

deny contains msg if {
	some bucket in buckets
	lib.after(bucket).acl in public_acls
	msg := lib.msg(rules, "FERRY-S3-009", bucket.address, concat("", ["canned ACL \"", lib.after(bucket).acl, "\" makes the bucket public; remove the acl argument"]))
}

# --- FERRY-S3-010 -------------------------------------------------------------------

deny contains msg if {
	some c in lib.of_type("aws_s3_bucket_policy")
	some st in lib.statements(c, "policy")
	st.effect == "Allow"
	lib.wildcard_principal(st)
	count(st.conditions) == 0
	msg := lib.msg(rules, "FERRY-S3-010", c.address, "a statement allows Principal \"*\" without a condition; name the principals or add a condition (aws:SourceArn, aws:PrincipalOrgID)")
}

# --- could not evaluate ----------------------------------------------------------------

deny contains msg if {
	some c in lib.of_type("aws_s3_bucket_policy")
	lib.policy_unreadable(c, "policy")
	msg := lib.unknown_msg(rules, "FERRY-S3-UNKNOWN", c.address, "FERRY-S3-005 and FERRY-S3-010", "the bucket policy is known only after apply")
}

setting_rule := {
	"aws_s3_bucket_server_side_encryption_configuration": "FERRY-S3-001",
	"aws_s3_bucket_versioning": "FERRY-S3-002",
	"aws_s3_bucket_public_access_block": "FERRY-S3-003",
	"aws_s3_bucket_ownership_controls": "FERRY-S3-004",
	"aws_s3_bucket_policy": "FERRY-S3-005",
	"aws_s3_bucket_logging": "FERRY-S3-006",
	"aws_s3_bucket_lifecycle_configuration": "FERRY-S3-007",
	"aws_s3_bucket_object_lock_configuration": "FERRY-S3-008",
}

deny contains msg if {
	some type in ambiguous_types
	some i in object.get(lib.type_index, type, set())
	not i in joined_setting_positions
	c := input.resource_changes[i]
	lib.unresolved(c, "bucket")
	msg := lib.unknown_msg(rules, "FERRY-S3-UNKNOWN", c.address, concat("", [setting_rule[type], " on every bucket of the plan"]), "the bucket this setting belongs to is known only after apply and the configuration does not name it")
}
