"""Lambda entry point ``ferry.deadletter.handler``: the consumer of the dead-letter queue.

A message reaches the DLQ after the processor failed on it ``maxReceiveCount``
times (each failure was transient or a bug: permanently bad files are rejected,
never retried). Its body is the original notification (an S3 event, an
EventBridge event or an SNS-wrapped S3 event), parsed by the same
:mod:`ferry.intake` as the processor's. For every object it names, the ledger
item ends ``dead_lettered`` (:meth:`ferry.ledger.Ledger.mark_dead_lettered`):

* a conditional write, so an object that already reached ``loaded`` or
  ``rejected`` is left as it is (a duplicate delivery can be dead-lettered after
  the original was processed), and a second delivery of the same DLQ message
  changes nothing that matters;
* the last transient error the processor left in ``last_error`` stays, the
  attempt count (claims, else deliveries) is kept, and ``reason`` says what
  happened;
* bucket, key, version and route are recorded: what a later reprocess needs;
* with ``FERRY_EVENT_BUS`` set, a ``FileDeadLettered`` event is published from
  the ledger's record once it is written (:mod:`ferry.events`). An event
  EventBridge did not take (throttled, or refused for a reason about the
  deployment) hands the message back: the retry writes the same record again
  and publishes again. An event refused for good is logged and counted
  (``EventsNotPublished``).

A message that names no object (not JSON, not an event) is logged and recorded
as ``dead_lettered`` under the message's own ledger id (``sqs://<dlq arn>#<id>``).

Partial batch response: only records that could not be written because of a
transient AWS error (throttling, a timeout) are returned in
``batchItemFailures``; SQS hands them back after the visibility timeout.

Environment (set by the pipeline module): ``FERRY_LEDGER_TABLE``,
``FERRY_LOG_LEVEL``, ``FERRY_METRICS_NAMESPACE``, ``FERRY_ROLE=deadletter``, and
``FERRY_EVENT_BUS`` / ``FERRY_EVENT_SOURCE`` when file events are on.
The processing configuration in the zip names the route of each key; when it
cannot be read, objects are recorded without a route rather than not at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ferry import events, intake, obs
from ferry.aws import DynamoDB
from ferry.config import Config, ConfigError, load_config
from ferry.ledger import Ledger
from ferry.model import Transient
from ferry.settings import Settings

log = logging.getLogger("ferry.deadletter")


@dataclass(slots=True)
class Consumer:
    """What the handler needs, built once per execution environment."""

    ledger: Ledger
    route_for: Callable[[str], str | None]
    metrics: obs.Metrics
    events: events.Publisher | None = None

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> Consumer:
        settings = settings or Settings.from_env()
        obs.setup_logging(settings.log_level)
        ledger = Ledger(
            settings.require("ledger_table"), DynamoDB(), ttl_days=settings.ledger_ttl_days
        )
        return cls(
            ledger,
            _route_lookup(settings),
            obs.Metrics(settings.metrics_namespace, "deadletter"),
            events.from_settings(settings),
        )


def _route_lookup(settings: Settings) -> Callable[[str], str | None]:
    """key -> route name from the packed configuration (``None`` when it cannot be read)."""
    try:
        config: Config | None = load_config(settings.resolved_config_path())
    except ConfigError as err:
        log.warning("no processing configuration, routes are not recorded: %s", err)
        config = None

    def route_for(key: str) -> str | None:
        route = config.route_for(key) if config is not None else None
        return route.name if route else None

    return route_for


_consumer: Consumer | None = None


def consumer() -> Consumer:
    global _consumer
    if _consumer is None:
        _consumer = Consumer.from_env()
    return _consumer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, consumer())


def _receive_count(record: dict[str, Any]) -> int | None:
    raw = (record.get("attributes") or {}).get("ApproximateReceiveCount")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def reason_for(receive_count: int | None, last_error: str | None) -> str:
    deliveries = f"{receive_count} deliveries" if receive_count else "every delivery"
    text = f"dead-lettered: processing failed on {deliveries}"
    return f"{text}; last error: {last_error}" if last_error else text


def handle(event: Any, context: Any, rt: Consumer) -> dict[str, Any]:
    """Record every record of a DLQ batch; returns the partial batch response."""
    request_id = getattr(context, "aws_request_id", None) or f"local-{uuid.uuid4()}"
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log.error("not an SQS event: nothing recorded", extra={"event_keys": _keys(event)})
        return {"batchItemFailures": []}
    failures: list[dict[str, str]] = []
    recorded = 0
    with obs.invocation(request_id):
        for record in records:
            message_id = record.get("messageId") if isinstance(record, dict) else None
            with obs.bind(message_id=message_id):
                try:
                    recorded += record_message(record, rt)
                except Transient as err:
                    log.warning("could not record the dead-lettered message, retrying: %s", err)
                    if message_id:
                        failures.append({"itemIdentifier": message_id})
        rt.metrics.emit(
            {
                "DeadLetteredFiles": (recorded, "Count"),
                "DeadLetterRetries": (len(failures), "Count"),
            },
            {},
        )
    return {"batchItemFailures": failures}


def record_message(record: Any, rt: Consumer) -> int:
    """Mark what one DLQ record names as dead-lettered; returns how many objects it changed.

    Raises :class:`Transient` when the ledger could not be written.
    """
    if not isinstance(record, dict):
        log.error("DLQ record is not an object: dropped", extra={"record": str(record)[:200]})
        return 0
    receive_count = _receive_count(record)
    parsed = intake.object_refs({"Records": [{**record, "eventSource": "aws:sqs"}]})
    changed = 0
    for ref in parsed.refs:
        with obs.bind(key=ref.key, bucket=ref.bucket, ledger_id=ref.ledger_id):
            previous = rt.ledger.get(ref.ledger_id) or {}
            reason = reason_for(receive_count, previous.get("last_error"))
            if rt.ledger.mark_dead_lettered(
                ref,
                reason,
                route=rt.route_for(ref.key),
                receive_count=receive_count,
                message_id=ref.message_id,
            ):
                changed += 1
                log.error("dead-lettered: %s", reason, extra={"attempt": previous.get("attempt")})
                _publish(ref.ledger_id, rt)
            else:
                log.info("already %s, left as is", previous.get("status", "terminal"))
    for bad in parsed.bad:
        if not bad.message_id:
            log.error("unreadable DLQ record with no message id: dropped: %s", bad.reason)
            continue
        with obs.bind(ledger_id=bad.ledger_id):
            log.error("dead-lettered message names no object: %s", bad.reason)
            rt.ledger.record_bad_message(
                bad.ledger_id,
                bad.message_id,
                f"dead-lettered message: {bad.reason}",
                bad.excerpt,
                status="dead_lettered",
            )
            changed += 1
    return changed


def _publish(ledger_id: str, rt: Consumer) -> None:
    """``FileDeadLettered`` from the record just written; Transient when worth a retry."""
    if rt.events is None:
        return
    record = rt.ledger.get(ledger_id)
    if record is None or record.get("status") != "dead_lettered":
        return  # expired or processed in between: nothing dead-lettered to announce
    try:
        rt.events.publish(record)
    except events.PublishRefused as err:
        log.error("file event refused by EventBridge, not retried: %s", err)
        rt.metrics.emit({"EventsNotPublished": (1, "Count")}, {})


def _keys(event: Any) -> list[str]:
    return sorted(str(k) for k in event)[:8] if isinstance(event, dict) else []
