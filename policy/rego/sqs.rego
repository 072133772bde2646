# SQS queues: customer-managed encryption, a dead-letter queue for every work
# queue, and queue policies that admit services only for named sources.
package ferry.sqs

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-SQS-001": {
		"severity": "medium",
		"title": "Queues are encrypted with a customer-managed KMS key",
		"controls": ["FSBP SQS.1", "CIS8 3.11"],
	},
	"FERRY-SQS-002": {
		"severity": "medium",
		"title": "Work queues have a dead-letter queue (redrive policy)",
		"controls": [],
	},
	"FERRY-SQS-003": {
		"severity": "high",
		"title": "Queue policies admit services and wildcard principals only for a named aws:SourceArn",
		"controls": ["FSBP SQS.3", "CIS8 3.3"],
	},
	"FERRY-SQS-UNKNOWN": {
		"severity": "high",
		"title": "Queue policies are readable at plan time (otherwise FERRY-SQS-003 could not be evaluated)",
		"controls": [],
	},
}

queues := lib.of_type("aws_sqs_queue")

deny contains msg if {
	some q in queues
	not lib.is_set(q, "kms_master_key_id")
	msg := lib.msg(rules, "FERRY-SQS-001", q.address, "the queue is not encrypted with a customer-managed key; set kms_master_key_id to a CMK that the producers (s3.amazonaws.com, events.amazonaws.com) may use")
}

# --- FERRY-SQS-002 ---------------------------------------------------------------------

redrives(q) if lib.is_set(q, "redrive_policy")

redrives(q) if {
	some r in lib.of_type("aws_sqs_queue_redrive_policy")
	lib.joined(r, "queue_url", q, ["id", "url"])
}

# a queue that some other queue dead-letters into, or named as one
dead_letter_queue(q) if {
	some other in queues
	other.address != q.address
	lib.references_resource(other, "redrive_policy", q)
}

dead_letter_queue(q) if {
	some r in lib.of_type("aws_sqs_queue_redrive_policy")
	lib.references_resource(r, "redrive_policy", q)
}

dead_letter_queue(q) if {
	some other in queues
	policy := object.get(lib.after(other), "redrive_policy", "")
	is_string(policy)
	json.is_valid(policy)
	json.unmarshal(policy).deadLetterTargetArn == lib.after(q).arn
}

dead_letter_queue(q) if {
	some r in lib.of_type("aws_sqs_queue_redrive_allow_policy")
	lib.joined(r, "queue_url", q, ["id", "url"])
}

dead_letter_queue(q) if regex.match(`(dlq|dead-?letter)`, lower(object.get(lib.after(q), "name", "")))

dead_letter_queue(q) if regex.match(`(dlq|dead_?letter)`, lower(q.name))

deny contains msg if {
	some q in queues
	not redrives(q)
	not dead_letter_queue(q)
	msg := lib.msg(rules, "FERRY-SQS-002", q.address, "messages that keep failing are retried forever; add redrive_policy with a deadLetterTargetArn and maxReceiveCount")
}

# --- FERRY-SQS-003 ---------------------------------------------------------------------

needs_source_arn(st) if lib.wildcard_principal(st)

needs_source_arn(st) if {
	some p in st.principals
	p.type == "Service"
}

scoped_by_source_arn(st) if lib.has_condition_key(st, {"aws:sourcearn"})

deny contains msg if {
	some p in lib.of_type("aws_sqs_queue_policy")
	some st in lib.statements(p, "policy")
	st.effect == "Allow"
	needs_source_arn(st)
	not scoped_by_source_arn(st)
	msg := lib.msg(rules, "FERRY-SQS-003", p.address, "a statement admits a service or any principal without an aws:SourceArn condition; add ArnEquals/ArnLike on aws:SourceArn naming the bucket, rule or topic that sends")
}

deny contains msg if {
	some q in queues
	some st in lib.statements(q, "policy")
	st.effect == "Allow"
	needs_source_arn(st)
	not scoped_by_source_arn(st)
	msg := lib.msg(rules, "FERRY-SQS-003", q.address, "the inline queue policy admits a service or any principal without an aws:SourceArn condition; add ArnEquals/ArnLike on aws:SourceArn naming the sender")
}

deny contains msg if {
	some p in lib.of_type("aws_sqs_queue_policy")
	lib.policy_unreadable(p, "policy")
	msg := lib.unknown_msg(rules, "FERRY-SQS-UNKNOWN", p.address, "FERRY-SQS-003", "the queue policy is known only after apply")
}

deny contains msg if {
	some q in queues
	lib.configured(q, "policy")
	lib.policy_unreadable(q, "policy")
	msg := lib.unknown_msg(rules, "FERRY-SQS-UNKNOWN", q.address, "FERRY-SQS-003", "the inline queue policy is known only after apply")
}
