"""Record dead-lettered messages in the ledger (what an operator's DLQ consumer does in AWS).

Each object a dead-lettered message names gets status ``failed`` with the
reason (how many deliveries failed, and the last transient error the handler
left in the ledger). Objects that already reached ``loaded`` / ``rejected``
are left alone: a duplicate message can be dead-lettered after the original
was processed. Calling this twice for one message changes nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ferry import intake, ledger

log = logging.getLogger("ferry.local.deadletter")


def reason_for(message: dict[str, Any], previous: dict[str, Any] | None) -> str:
    max_receive = os.environ.get("FERRY_LOCAL_MAX_RECEIVE_COUNT")
    deliveries = f"{max_receive} deliveries" if max_receive else "the queue's maxReceiveCount"
    last = (previous or {}).get("last_error")
    text = f"dead-lettered: processing failed on all {deliveries}"
    return f"{text}; last error: {last}" if last else text


def record_dead_letter(message: dict[str, Any]) -> None:
    """Mark every object named by one DLQ message (``receive_message`` shape) as failed."""
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "body": message["Body"],
                "eventSource": "aws:sqs",
                "eventSourceARN": os.environ.get("FERRY_LOCAL_QUEUE_ARN", ""),
            }
        ]
    }
    parsed = intake.object_refs(event)
    book = ledger.from_env()
    for ref in parsed.refs:
        changed = book.mark_dead_lettered(ref, reason_for(message, book.get(ref.ledger_id)))
        log.info("%s %s", "dead-lettered" if changed else "already terminal, left as is:", ref)
    for bad in parsed.bad:
        book.record_bad_message(bad.ledger_id, bad.message_id, bad.reason, bad.excerpt)
        log.info("dead-lettered unparseable message %s: %s", bad.message_id, bad.reason)
