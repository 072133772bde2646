# Lambda functions: tracing, VPC placement, supported runtimes, no secrets in
# environment variables, bounded concurrency, no public invocation.
package ferry.lambda

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-LAMBDA-001": {
		"severity": "low",
		"title": "Functions have X-Ray active tracing",
		"controls": ["FSBP Lambda.7", "CIS8 8.2"],
	},
	"FERRY-LAMBDA-002": {
		"severity": "medium",
		"title": "Functions run in a VPC (subnets and security groups)",
		"controls": ["FSBP Lambda.3", "CIS8 12.2"],
	},
	"FERRY-LAMBDA-003": {
		"severity": "high",
		"title": "Functions use an allowed runtime (python3.11, python3.12, python3.13)",
		"controls": ["FSBP Lambda.2", "CIS8 2.2", "CIS8 7.4"],
	},
	"FERRY-LAMBDA-004": {
		"severity": "high",
		"title": "No secrets in environment variables (pass a Secrets Manager ARN instead)",
		"controls": ["CIS8 3.11"],
	},
	"FERRY-LAMBDA-005": {
		"severity": "medium",
		"title": "Functions have reserved concurrency",
		"controls": [],
	},
	"FERRY-LAMBDA-006": {
		"severity": "critical",
		"title": "Function URLs require IAM authentication",
		"controls": ["FSBP Lambda.1", "CIS8 6.8"],
	},
	"FERRY-LAMBDA-007": {
		"severity": "critical",
		"title": "Invoke permissions name a principal and, for services, a source ARN",
		"controls": ["FSBP Lambda.1", "CIS8 3.3", "CIS8 6.8"],
	},
	"FERRY-LAMBDA-UNKNOWN": {
		"severity": "high",
		"title": "Environment variable names are known at plan time (otherwise FERRY-LAMBDA-004 could not be evaluated)",
		"controls": [],
	},
}

allowed_runtimes := {"python3.11", "python3.12", "python3.13"}

functions := lib.of_type("aws_lambda_function")

deny contains msg if {
	some f in functions
	not lib.block(lib.after(f), "tracing_config").mode == "Active"
	msg := lib.msg(rules, "FERRY-LAMBDA-001", f.address, "X-Ray tracing is not active; add tracing_config { mode = \"Active\" } and allow xray:PutTraceSegments in the role")
}

vpc_list_set(f, attr) if count(lib.null_to_empty(object.get(lib.block(lib.after(f), "vpc_config"), attr, []))) > 0

vpc_list_set(f, attr) if {
	some c in lib.blocks(lib.after_unknown(f), "vpc_config")
	c[attr] == true
}

vpc_list_set(f, _) if lib.after_unknown(f).vpc_config == true

deny contains msg if {
	some f in functions
	some attr in ["subnet_ids", "security_group_ids"]
	not vpc_list_set(f, attr)
	msg := lib.msg(rules, "FERRY-LAMBDA-002", f.address, concat("", ["vpc_config.", attr, " is empty; run the function in the private subnets with a dedicated security group"]))
}

deny contains msg if {
	some f in functions
	object.get(lib.after(f), "package_type", "Zip") in {"Zip", null}
	runtime := object.get(lib.after(f), "runtime", null)
	not runtime in allowed_runtimes
	msg := lib.msg(rules, "FERRY-LAMBDA-003", f.address, concat("", ["runtime ", sprintf("%v", [runtime]), " is not on the allow-list (python3.11, python3.12, python3.13); move to a supported Python runtime"]))
}

# --- FERRY-LAMBDA-004 ------------------------------------------------------------------

secret_name_pattern := `(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)`

reference_suffix_pattern := `_(ARN|NAME|ID|PARAM|PARAMETER|PATH|URL|REF|TTL|SECONDS|FILE)$`

secret_value_pattern := `^(AKIA|ASIA)[0-9A-Z]{16}$|-----BEGIN [A-Z ]*PRIVATE KEY-----`

environment_variables(f) := vars if {
	vars := lib.block(lib.after(f), "environment").variables
	is_object(vars)
} else := vars if {
	vars := lib.config_of(f).expressions.environment[0].variables.constant_value
	is_object(vars)
} else := {}

secret_keys(f) := sort([k |
	vars := environment_variables(f)
	some k
	v := vars[k]
	secret_entry(k, v)
])

secret_entry(k, v) if {
	regex.match(secret_name_pattern, upper(k))
	not regex.match(reference_suffix_pattern, upper(k))
	is_string(v)
	v != ""
	not startswith(v, "arn:")
}

secret_entry(_, v) if {
	is_string(v)
	regex.match(secret_value_pattern, v)
}

deny contains msg if {
	some f in functions
	keys := secret_keys(f)
	count(keys) > 0
	msg := lib.msg(rules, "FERRY-LAMBDA-004", f.address, concat("", ["environment variables hold secret values (", concat(", ", keys), "); store them in Secrets Manager and pass the secret ARN"]))
}

deny contains msg if {
	some f in functions
	object.get(lib.after(f), "reserved_concurrent_executions", -1) in {-1, null}
	msg := lib.msg(rules, "FERRY-LAMBDA-005", f.address, "no reserved concurrency; set reserved_concurrent_executions so a burst of files cannot exhaust the account's concurrency or the database's connections")
}

deny contains msg if {
	some u in lib.of_type("aws_lambda_function_url")
	lib.after(u).authorization_type == "NONE"
	msg := lib.msg(rules, "FERRY-LAMBDA-006", u.address, "the function URL is open to anyone; set authorization_type = \"AWS_IAM\"")
}

deny contains msg if {
	some p in lib.of_type("aws_lambda_permission")
	lib.after(p).principal == "*"
	msg := lib.msg(rules, "FERRY-LAMBDA-007", p.address, "anyone may invoke the function; name the invoking service or account as principal")
}

deny contains msg if {
	some p in lib.of_type("aws_lambda_permission")
	endswith(lib.after(p).principal, ".amazonaws.com")
	not lib.is_set(p, "source_arn")
	msg := lib.msg(rules, "FERRY-LAMBDA-007", p.address, concat("", ["the service ", lib.after(p).principal, " may invoke the function on behalf of any account; set source_arn (and source_account)"]))
}

# --- could not evaluate ----------------------------------------------------------------

# the whole variables map is known only after apply (its names included), and
# the configuration gives no literal map to read instead
deny contains msg if {
	some f in functions
	some u in lib.blocks(lib.after_unknown(f), "environment")
	u.variables == true
	not is_object(object.get(lib.config_of(f), ["expressions", "environment", 0, "variables", "constant_value"], null))
	msg := lib.unknown_msg(rules, "FERRY-LAMBDA-UNKNOWN", f.address, "FERRY-LAMBDA-004", "the environment variables (names and values) are known only after apply")
}
