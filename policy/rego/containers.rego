# Container tasks and the state machines that run them (the large-file lane):
# images pinned by digest, no privileged or root containers, read-only root
# filesystems, no public IPs, state machines logged and traced.
package ferry.containers

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-ECS-001": {
		"severity": "high",
		"title": "Container images are pinned by digest (@sha256:), never by a tag",
		"controls": ["CIS8 2.5", "CIS8 16.4"],
	},
	"FERRY-ECS-002": {
		"severity": "critical",
		"title": "Containers are not privileged",
		"controls": ["FSBP ECS.4", "CIS8 4.1"],
	},
	"FERRY-ECS-003": {
		"severity": "high",
		"title": "Containers run as a non-root user",
		"controls": ["CIS8 5.4"],
	},
	"FERRY-ECS-004": {
		"severity": "medium",
		"title": "Containers have a read-only root filesystem",
		"controls": ["FSBP ECS.5", "CIS8 4.1"],
	},
	"FERRY-ECS-005": {
		"severity": "high",
		"title": "ECS services assign no public IP to their tasks",
		"controls": ["FSBP ECS.2", "CIS8 12.2"],
	},
	"FERRY-ECS-UNKNOWN": {
		"severity": "high",
		"title": "Container definitions are known at plan time (otherwise FERRY-ECS-001 to 004 could not be evaluated)",
		"controls": [],
	},
	"FERRY-SFN-001": {
		"severity": "medium",
		"title": "State machines log their executions to CloudWatch Logs",
		"controls": ["FSBP StepFunctions.1", "CIS8 8.2"],
	},
	"FERRY-SFN-002": {
		"severity": "low",
		"title": "State machines have X-Ray tracing",
		"controls": ["CIS8 8.2"],
	},
	"FERRY-SFN-003": {
		"severity": "high",
		"title": "State machines run ECS tasks without a public IP",
		"controls": ["FSBP ECS.2", "CIS8 12.2"],
	},
	"FERRY-SFN-UNKNOWN": {
		"severity": "high",
		"title": "State machine definitions are known at plan time (otherwise FERRY-SFN-003 could not be evaluated)",
		"controls": [],
	},
}

task_definitions := lib.of_type("aws_ecs_task_definition")

# --- container definitions ---------------------------------------------------------

containers(td) := cs if {
	raw := object.get(lib.after(td), "container_definitions", null)
	is_string(raw)
	json.is_valid(raw)
	cs := lib.as_array(json.unmarshal(raw))
}

container_name(c) := object.get(c, "name", "(unnamed)")

deny contains msg if {
	some td in task_definitions
	some c in containers(td)
	not regex.match(`@sha256:[0-9a-f]{64}$`, object.get(c, "image", ""))
	msg := lib.msg(rules, "FERRY-ECS-001", td.address, concat("", ["container ", container_name(c), " uses image ", object.get(c, "image", "(none)"), ", which a push can change under a running deployment; pin it by digest (<repository>@sha256:<digest>)"]))
}

deny contains msg if {
	some td in task_definitions
	some c in containers(td)
	object.get(c, "privileged", false) == true
	msg := lib.msg(rules, "FERRY-ECS-002", td.address, concat("", ["container ", container_name(c), " is privileged (full access to the host's devices); remove privileged = true"]))
}

root_user(c) if not lib.is_set({"change": {"after": c}}, "user")

root_user(c) if {
	uid := split(c.user, ":")[0]
	uid in {"0", "root"}
}

deny contains msg if {
	some td in task_definitions
	some c in containers(td)
	root_user(c)
	msg := lib.msg(rules, "FERRY-ECS-003", td.address, concat("", ["container ", container_name(c), " runs as root (no user, or uid 0); set user to a numeric uid:gid other than 0"]))
}

deny contains msg if {
	some td in task_definitions
	some c in containers(td)
	not object.get(c, "readonlyRootFilesystem", false) == true
	msg := lib.msg(rules, "FERRY-ECS-004", td.address, concat("", ["container ", container_name(c), " can write its root filesystem; set readonlyRootFilesystem = true and mount a volume for the paths it writes (/tmp)"]))
}

deny contains msg if {
	some td in task_definitions
	lib.unknown(td, "container_definitions")
	msg := lib.unknown_msg(rules, "FERRY-ECS-UNKNOWN", td.address, "FERRY-ECS-001 to 004", "the container definitions are known only after apply")
}

deny contains msg if {
	some svc in lib.of_type("aws_ecs_service")
	lib.block(lib.after(svc), "network_configuration").assign_public_ip == true
	msg := lib.msg(rules, "FERRY-ECS-005", svc.address, "the service's tasks get a public IP; set network_configuration.assign_public_ip = false and run them in private subnets")
}

# --- state machines -------------------------------------------------------------------

state_machines := lib.of_type("aws_sfn_state_machine")

logged(sm) if {
	log := lib.block(lib.after(sm), "logging_configuration")
	object.get(log, "level", "OFF") != "OFF"
	lib.is_set({"change": {"after": log}}, "log_destination")
}

logged(sm) if {
	# the destination is a log group created in the same plan (its ARN is known after apply)
	log := lib.block(lib.after(sm), "logging_configuration")
	object.get(log, "level", "OFF") != "OFF"
	lib.block(lib.after_unknown(sm), "logging_configuration").log_destination == true
}

deny contains msg if {
	some sm in state_machines
	not logged(sm)
	msg := lib.msg(rules, "FERRY-SFN-001", sm.address, "executions are not logged; add logging_configuration with level ALL (or ERROR) and a log_destination of a KMS-encrypted log group")
}

deny contains msg if {
	some sm in state_machines
	not lib.block(lib.after(sm), "tracing_configuration").enabled == true
	msg := lib.msg(rules, "FERRY-SFN-002", sm.address, "X-Ray tracing is off; add tracing_configuration { enabled = true } and allow the xray actions in the state machine's role")
}

definition(sm) := json.unmarshal(d) if {
	d := object.get(lib.after(sm), "definition", null)
	is_string(d)
	json.is_valid(d)
}

deny contains msg if {
	some sm in state_machines
	walk(definition(sm), [path, value])
	path[count(path) - 1] == "AssignPublicIp"
	value == "ENABLED"
	msg := lib.msg(rules, "FERRY-SFN-003", sm.address, concat("", ["the definition runs tasks with a public IP (", concat(".", [sprintf("%v", [p]) | some p in path]), " = ENABLED); set AssignPublicIp to DISABLED and use private subnets"]))
}

deny contains msg if {
	some sm in state_machines
	lib.unknown(sm, "definition")
	msg := lib.unknown_msg(rules, "FERRY-SFN-UNKNOWN", sm.address, "FERRY-SFN-003", "the definition is known only after apply")
}
