# Deployability: settings that AWS accepts one by one but that fail together at
# run time, read from any plan. A queue consumed by a function (through an
# aws_lambda_event_source_mapping) must outlast the function's runs, its
# batching must fit, the function's reserved concurrency must cover the
# mapping's maximum concurrency, and messages that keep failing must land in a
# dead-letter queue. Sources: the Lambda developer guide, "Creating and
# configuring an Amazon SQS event source mapping" and "Configuring scaling
# behavior for SQS event source mappings".
#
# FERRY-DEPLOY-100 to 129 are declared here with the family but evaluated by
# the service-integration simulation (policy/simulate.py: IAM requests of each
# integration through @cloud-copilot/iam-simulate), which Rego cannot run; a
# conftest or opa run of these files reports FERRY-DEPLOY-001 to 004 only.
package ferry.deploy

import data.ferry.lib
import data.ferry.sqs
import rego.v1

rules := {
	"FERRY-DEPLOY-001": {
		"severity": "high",
		"title": "A queue a function consumes has a visibility timeout of at least 6 x the function's timeout",
		"controls": [],
	},
	"FERRY-DEPLOY-002": {
		"severity": "high",
		"title": "Batching fits: batch size within what the queue and batching window allow, and batching window plus function timeout within the visibility timeout",
		"controls": [],
	},
	"FERRY-DEPLOY-003": {
		"severity": "high",
		"title": "A function's reserved concurrency is at least its event source mapping's maximum concurrency (and not 0)",
		"controls": [],
	},
	"FERRY-DEPLOY-004": {
		"severity": "high",
		"title": "Every queue a function consumes has a dead-letter queue (redrive policy)",
		"controls": [],
	},
	"FERRY-DEPLOY-100": {
		"severity": "high",
		"title": "The service-integration simulation (FERRY-DEPLOY-101 to 129, policy/simulate.py) ran: node and @cloud-copilot/iam-simulate are installed",
		"controls": [],
	},
	"FERRY-DEPLOY-101": {
		"severity": "high",
		"title": "S3 event notifications reach their queue: the queue policy admits s3.amazonaws.com from this bucket and account only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-102": {
		"severity": "high",
		"title": "S3 can use the key of an encrypted queue it notifies (GenerateDataKey, Decrypt through SQS), and not for another account's queue (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-103": {
		"severity": "high",
		"title": "EventBridge rules reach their SNS topic: the topic policy admits events.amazonaws.com from this rule only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-104": {
		"severity": "high",
		"title": "EventBridge can use the key of an encrypted topic it targets, and not for another account's topic (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-105": {
		"severity": "high",
		"title": "EventBridge rules reach their SQS queue: the queue policy admits events.amazonaws.com from this rule only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-106": {
		"severity": "high",
		"title": "EventBridge can use the key of an encrypted queue it targets, and not for another account's queue (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-107": {
		"severity": "high",
		"title": "EventBridge rules write to their CloudWatch Logs group (log resource policy), and to no other group (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-108": {
		"severity": "high",
		"title": "CloudWatch alarms publish to their SNS topic (this account's alarms only) (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-109": {
		"severity": "high",
		"title": "CloudWatch alarms can use the key of an encrypted topic they publish to, and not for another account's topic (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-110": {
		"severity": "high",
		"title": "CloudTrail writes its log files to its bucket (GetBucketAcl, PutObject from this trail only) (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-111": {
		"severity": "high",
		"title": "CloudTrail encrypts its log files with its key (this trail only) (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-112": {
		"severity": "high",
		"title": "CloudTrail assumes its delivery role (this trail only) and writes to its log group, and to no other (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-113": {
		"severity": "high",
		"title": "VPC flow logs assume their delivery role (this account only) and write to their log group, and to no other (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-114": {
		"severity": "high",
		"title": "CloudWatch Logs encrypts each log group with its key (this account's groups only) (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-115": {
		"severity": "high",
		"title": "Macie's service-linked role reads the objects its classification job scans (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-116": {
		"severity": "high",
		"title": "Macie's service-linked role decrypts the objects it scans through S3 (this account only) (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-117": {
		"severity": "medium",
		"title": "Macie's service-linked role gets no key permission beyond Decrypt (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-118": {
		"severity": "high",
		"title": "The processor role reads raw objects and writes processed and failed ones, and nothing else in S3 (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-119": {
		"severity": "high",
		"title": "The processor role uses the storage key through S3 only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-120": {
		"severity": "high",
		"title": "The processor role writes the ledger, records and metadata tables (and their keys), and no other table (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-121": {
		"severity": "high",
		"title": "The processor role consumes its queue (and its key), and no other queue (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-122": {
		"severity": "high",
		"title": "The processor role reads its database secret (and its key) or connects with IAM as its own user only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-123": {
		"severity": "high",
		"title": "The processor role writes traces and its own log group, and no other group (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-124": {
		"severity": "high",
		"title": "A function in a VPC can manage its network interfaces with its execution role (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-125": {
		"severity": "high",
		"title": "A function in a VPC can describe network interfaces and subnets with its execution role (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-126": {
		"severity": "high",
		"title": "The processor and the dead-letter consumer may publish file events on their bus with their own source only (events:source; simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-127": {
		"severity": "high",
		"title": "GuardDuty Malware Protection for S3 can assume the malware gate's role for this account's plan only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-128": {
		"severity": "high",
		"title": "The malware gate's role can manage GuardDuty's EventBridge rule, the raw bucket's notifications, read, tag and validate raw objects, and nothing else (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-129": {
		"severity": "high",
		"title": "The raw objects' key lets the malware gate's role decrypt and generate data keys through S3 only (simulated)",
		"controls": ["CIS8 6.8"],
	},
	"FERRY-DEPLOY-UNKNOWN": {
		"severity": "medium",
		"title": "What deployability checks read is known at plan time: an event source mapping's queue, function and settings (FERRY-DEPLOY-001 to 004), and every policy and ARN a simulated service request needs (FERRY-DEPLOY-101 to 129)",
		"controls": [],
	},
}

mappings := lib.of_type("aws_lambda_event_source_mapping")

queue_of(m) := [q | some q in lib.of_type("aws_sqs_queue"); lib.joined(m, "event_source_arn", q, ["arn"])]

function_of(m) := [f | some f in lib.of_type("aws_lambda_function"); lib.joined(m, "function_name", f, ["arn", "function_name", "qualified_arn"])]

# every consumed (mapping, queue, function), one per mapping
triples contains [m, q, f] if {
	some m in mappings
	some q in queue_of(m)
	some f in function_of(m)
}

# AWS defaults when the attribute is not set
number(rc, attr, default_value) := v if {
	v := object.get(lib.after(rc), attr, null)
	is_number(v)
} else := default_value if {
	lib.known(rc, attr)
}

timeout(f) := number(f, "timeout", 3)

visibility(q) := number(q, "visibility_timeout_seconds", 30)

window(m) := number(m, "maximum_batching_window_in_seconds", 0)

batch(m, q) := number(m, "batch_size", 10)

fifo(q) if lib.after(q).fifo_queue == true

max_concurrency(m) := c if {
	some s in lib.blocks(lib.after(m), "scaling_config")
	c := s.maximum_concurrency
	is_number(c)
}

s(n) := format_int(n, 10)

# --- FERRY-DEPLOY-001 -------------------------------------------------------------------

deny contains msg if {
	some t in triples
	[_, q, f] := t
	visibility(q) < 6 * timeout(f)
	msg := lib.msg(rules, "FERRY-DEPLOY-001", q.address, concat("", ["visibility timeout ", s(visibility(q)), " s is less than 6 x the timeout of ", f.address, " (", s(timeout(f)), " s): messages reappear while still being processed and are handled twice; set visibility_timeout_seconds to at least ", s(6 * timeout(f))]))
}

# --- FERRY-DEPLOY-002 -------------------------------------------------------------------

deny contains msg if {
	some t in triples
	[m, q, _] := t
	batch(m, q) > 10
	window(m) < 1
	msg := lib.msg(rules, "FERRY-DEPLOY-002", m.address, concat("", ["batch_size ", s(batch(m, q)), " needs a batching window (Lambda rejects a batch size above 10 for SQS without one); set maximum_batching_window_in_seconds to at least 1 or batch_size to 10 or less"]))
}

deny contains msg if {
	some t in triples
	[m, q, _] := t
	fifo(q)
	batch(m, q) > 10
	msg := lib.msg(rules, "FERRY-DEPLOY-002", m.address, concat("", ["batch_size ", s(batch(m, q)), " on a FIFO queue (at most 10); set batch_size to 10 or less"]))
}

deny contains msg if {
	some t in triples
	[m, q, _] := t
	batch(m, q) > 10000
	msg := lib.msg(rules, "FERRY-DEPLOY-002", m.address, concat("", ["batch_size ", s(batch(m, q)), " is above the SQS maximum of 10000; lower it"]))
}

deny contains msg if {
	some t in triples
	[m, q, f] := t
	visibility(q) < window(m) + timeout(f)
	msg := lib.msg(rules, "FERRY-DEPLOY-002", m.address, concat("", ["the batching window (", s(window(m)), " s) plus the timeout of ", f.address, " (", s(timeout(f)), " s) exceed the visibility timeout of ", q.address, " (", s(visibility(q)), " s): the first messages of a batch reappear before it is done; shorten the window or lengthen the visibility timeout"]))
}

# --- FERRY-DEPLOY-003 -------------------------------------------------------------------

reserved(f) := number(f, "reserved_concurrent_executions", -1)

deny contains msg if {
	some t in triples
	[m, _, f] := t
	reserved(f) == 0
	msg := lib.msg(rules, "FERRY-DEPLOY-003", f.address, "reserved concurrency 0 stops every invocation: the queue is never consumed; set reserved_concurrent_executions to at least the mapping's maximum_concurrency")
}

deny contains msg if {
	some t in triples
	[m, _, f] := t
	reserved(f) > 0
	c := max_concurrency(m)
	c > reserved(f)
	msg := lib.msg(rules, "FERRY-DEPLOY-003", m.address, concat("", ["maximum_concurrency ", s(c), " is above the reserved concurrency of ", f.address, " (", s(reserved(f)), "): the surplus invocations are throttled and their messages age towards the DLQ; lower maximum_concurrency or raise reserved_concurrent_executions"]))
}

deny contains msg if {
	some t in triples
	[m, _, f] := t
	reserved(f) > 0
	not max_concurrency(m)
	msg := lib.msg(rules, "FERRY-DEPLOY-003", m.address, concat("", ["no scaling_config.maximum_concurrency: the SQS pollers scale past the reserved concurrency of ", f.address, " (", s(reserved(f)), ") and the surplus is throttled; add scaling_config { maximum_concurrency = <at most ", s(reserved(f)), "> }"]))
}

# --- FERRY-DEPLOY-004 -------------------------------------------------------------------

# A dead-letter queue drained by its own recorder (ferry's dead-letter consumer)
# keeps what the recorder cannot take until its retention ends, where an alarm on
# its age sees it: a queue another queue's redrive policy names is one.
dead_letter_queue(q) if {
	some o in lib.of_type("aws_sqs_queue")
	o.address != q.address
	lib.joined(o, "redrive_policy", q, ["arn"])
}

deny contains msg if {
	some t in triples
	[m, q, f] := t
	not sqs.redrives(q)
	not dead_letter_queue(q)
	msg := lib.msg(rules, "FERRY-DEPLOY-004", q.address, concat("", ["consumed by ", f.address, " without a dead-letter queue: a message that keeps failing is retried until it expires; add redrive_policy with a deadLetterTargetArn and maxReceiveCount"]))
}

# --- could not evaluate -----------------------------------------------------------------

deny contains msg if {
	some m in mappings
	some attr in ["event_source_arn", "function_name"]
	count(queue_or_function(m, attr)) == 0
	lib.unknown(m, attr)
	msg := lib.unknown_msg(rules, "FERRY-DEPLOY-UNKNOWN", m.address, "FERRY-DEPLOY-001 to 004", concat("", [attr, " is known only after apply and names no queue or function of this plan"]))
}

queue_or_function(m, "event_source_arn") := queue_of(m)

queue_or_function(m, "function_name") := function_of(m)

deny contains msg if {
	some t in triples
	[m, q, f] := t
	some pair in [[f, "timeout"], [q, "visibility_timeout_seconds"], [m, "batch_size"], [m, "maximum_batching_window_in_seconds"], [f, "reserved_concurrent_executions"]]
	lib.unknown(pair[0], pair[1])
	msg := lib.unknown_msg(rules, "FERRY-DEPLOY-UNKNOWN", pair[0].address, "FERRY-DEPLOY-001 to 003", concat("", [pair[1], " is known only after apply"]))
}
