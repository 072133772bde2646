"""The per-object flow: one invocation's event in, a partial batch response out.

Intake (pure) turns the event into object refs; for each object, in order:

1. **deadline**: an object is not started with less than :data:`MIN_REMAINING_MS`
   left; it is handed back for a retry rather than killed half-way (its lease
   would block the retry);
2. **routing**: the first route matching the key (:meth:`ferry.config.Config.route_for`);
   a folder marker or a key no route matches is rejected;
3. **claim**: the ledger claims the object version (a duplicate delivery of a
   finished object ends here);
4. **process**: the route's processor runs with ``rt.for_object(...)`` as ``ctx``;
5. **quarantine**: a rejected file is copied with its ``.error.json`` sidecar
   to the failed bucket (:class:`ferry.rejects.FailedBucket`);
6. **raw deletion** per ``delete_raw``;
7. **finish**: the ledger records the outcome with timings; one log line and
   one EMF metric line per object;
8. **event**: with ``FERRY_EVENT_BUS`` set, the terminal state is published
   (:mod:`ferry.events`) after the ledger has it. A duplicate delivery of a
   finished file publishes it again from the ledger's record: that is how an
   event EventBridge did not take (throttled) is sent on the message's retry,
   without processing the file again.

With the malware gate on (:mod:`ferry.gate`), step 4 runs only for a GuardDuty
``NO_THREATS_FOUND`` result; any other result rejects the file unread into
``quarantine/`` in the failed bucket, and an event with no scan result is
acknowledged without a ledger record (the scan result follows).

Objects of a route's container lane (:meth:`ferry.config.Route.lane_for`) are
handed, with their ledger claim, to the large-file state machine after step 2
(:func:`hand_off`); ``python -m ferry.task`` runs steps 3 to 7 for them in a
container, through :func:`process_object` as well.

Only transient failures (throttling, timeouts, a database that is down, a
lease held by another invocation) are returned in ``batchItemFailures``
(:class:`Retries`); permanently bad files are rejected and acknowledged, and
so is a file that made AWS answer a request with a permanent 4xx
(:class:`ferry.aws.Refused`: the file is rejected with the service's message). An
unexpected exception (a bug) is also returned for retry: the message then
reaches the DLQ and the object is marked dead-lettered there, rather than being
recorded as the file's fault. Invoked directly by S3 or EventBridge (no SQS),
a transient failure is raised so Lambda's asynchronous retries and on-failure
destination apply.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from ferry import events, gate, intake, lanes, obs, processors, tracing
from ferry.aws import ObjectGone, Refused
from ferry.config import Route
from ferry.model import ObjectRef, Outcome, Transient
from ferry.runtime import DEFAULT_REMAINING_MS, Runtime

log = logging.getLogger("ferry.handler")

#: Do not start an object with less time than this left before the function's deadline.
MIN_REMAINING_MS = 5_000


class Retries:
    """The batch-failure bookkeeping: which SQS messages come back, and whether to raise."""

    def __init__(self) -> None:
        self._message_ids: dict[str, None] = {}  # ordered, unique
        self._without_message = False

    def add(self, message_id: str | None) -> None:
        """Retry this message (a direct invocation has none: the invocation then fails)."""
        if message_id:
            self._message_ids[message_id] = None
        else:
            self._without_message = True

    def __contains__(self, message_id: str | None) -> bool:
        return bool(message_id) and message_id in self._message_ids

    def __len__(self) -> int:
        return len(self._message_ids)

    def response(self) -> dict[str, Any]:
        """The partial batch response; raises :class:`Transient` when a retry has no message."""
        if self._without_message:
            raise Transient("one or more objects failed transiently; see the log for details")
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self._message_ids]}


def deadline(context: Any) -> Callable[[], int]:
    """Milliseconds left: Lambda's context when there is one, else a budget counted down."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        return lambda: int(getter())
    started = time.monotonic()
    return lambda: max(0, DEFAULT_REMAINING_MS - int((time.monotonic() - started) * 1000))


def handle(event: Any, context: Any, rt: Runtime) -> dict[str, Any]:
    """Process one invocation's event with the given runtime."""
    request_id = getattr(context, "aws_request_id", None) or f"local-{uuid.uuid4()}"
    with obs.invocation(request_id, sample_rate=rt.settings.log_sample_rate) as cold_start:
        if cold_start:
            rt.metrics.cold_start()
        return _handle_batch(event, deadline(context), rt, request_id)


def _handle_batch(
    event: Any, remaining_ms: Callable[[], int], rt: Runtime, request_id: str
) -> dict[str, Any]:
    retries = Retries()
    with tracing.span("intake"):
        parsed = intake.object_refs(event)

    for bad in parsed.bad:
        with obs.bind(message_id=bad.message_id, ledger_id=bad.ledger_id):
            log.error("message rejected: %s", bad.reason, extra={"body_excerpt": bad.excerpt})
            try:
                rt.ledger.record_bad_message(bad.ledger_id, bad.message_id, bad.reason, bad.excerpt)
            except Transient as err:
                log.warning("could not record the bad message, retrying: %s", err)
                retries.add(bad.message_id)
    if parsed.ignored:
        log.info("ignored test events", extra={"message_ids": parsed.ignored})

    for ref in parsed.refs:
        if ref.message_id in retries:
            continue  # the whole message comes back; later objects in it are retried then
        with obs.bind(
            key=ref.key,
            bucket=ref.bucket,
            version_id=ref.version_id,
            ledger_id=ref.ledger_id,
            message_id=ref.message_id,
        ):
            if remaining_ms() < MIN_REMAINING_MS:
                log.warning("deadline near, object left for a retry")
                retries.add(ref.message_id)
            elif not process_object(ref, rt, request_id=request_id, remaining_ms=remaining_ms):
                retries.add(ref.message_id)

    records = event.get("Records", []) if isinstance(event, dict) else []
    rt.metrics.emit(
        {
            "Messages": (len(records) if isinstance(records, list) else 0, "Count"),
            "BadMessages": (len(parsed.bad), "Count"),
            "BatchItemFailures": (len(retries), "Count"),
        },
        {},
    )
    return retries.response()


def _rejected(processor: str, reason: str) -> Outcome:
    return Outcome(status="rejected", processor=processor, reason=reason)


def process_object(
    ref: ObjectRef,
    rt: Runtime,
    *,
    request_id: str,
    remaining_ms: Callable[[], int],
    in_container: bool = False,
) -> bool:
    """Run one object to a terminal state; False means "retry the message later".

    A route's container-lane objects are handed to the state machine instead
    (:func:`hand_off`), unless this already is the container task (``in_container``).
    """
    started = time.monotonic()
    # The container task runs only what the function handed over, and the
    # function hands over only a file the gate let through.
    checked = "process" if in_container else gate.verdict(ref, enabled=rt.settings.malware_gate)
    if checked == "wait":
        log.info("malware gate: no scan result in this event yet, acknowledged")
        rt.metrics.emit({"AwaitingScanResult": (1, "Count")}, {})
        return True
    route = None if ref.key.endswith("/") else rt.config.route_for(ref.key)
    if (
        route is not None
        and not in_container
        and checked == "process"  # a quarantined file is never read: no lane needed
        and route.lane_for(ref.size) == "container"
    ):
        return hand_off(ref, route, rt)
    job = None
    with tracing.span("object", processor=route.processor if route else "router") as span:
        span.annotate(ledger_id=ref.ledger_id, key=ref.key[:200])
        try:
            with tracing.span("claim"):
                job = rt.ledger.claim(ref, lease_ms=remaining_ms(), owner=request_id)
            if job.already_done:
                previous = job.previous or {}
                log.info(
                    "duplicate delivery: already %s",
                    previous.get("status"),
                    extra={"attempt": job.attempt},
                )
                return _publish(previous, rt)
            claimed = time.monotonic()
            if checked == "quarantine":
                outcome = gate.quarantined(ref)
            else:
                outcome = _run_processor(ref, route, rt, remaining_ms)
            processed = time.monotonic()
            if outcome.status == "rejected":
                with tracing.span("quarantine"):
                    outcome.outputs.extend(
                        rt.failed.quarantine(
                            ref,
                            outcome,
                            route=route.name if route else None,
                            when=rt.now(),
                            prefix=gate.QUARANTINE_PREFIX if checked == "quarantine" else "",
                        )
                    )
            if rt.config.delete_raw == "always" or (
                rt.config.delete_raw == "on_loaded" and outcome.status == "loaded"
            ):
                rt.s3.delete(ref)
            done = time.monotonic()
            timings = {
                "claim_ms": int((claimed - started) * 1000),
                "process_ms": int((processed - claimed) * 1000),
                "finish_ms": int((done - processed) * 1000),
                "total_ms": int((done - started) * 1000),
            }
            job.finish(outcome, route=route.name if route else None, timings=timings)
        except Exception as err:
            if isinstance(err, Transient):
                log.warning("transient failure, message will be retried: %s", err)
                reason = str(err)
            else:
                log.exception("unexpected error, message will be retried: %s", err)
                reason = f"{type(err).__name__}: {err}"
            if job is not None and not job.already_done:
                job.release(reason)
            return False

        span.annotate(status=outcome.status)
        _report(ref, route, outcome, attempt=job.attempt, started=started, rt=rt)
        return _publish(_record(ref, route, outcome, attempt=job.attempt, rt=rt), rt)


def _record(
    ref: ObjectRef, route: Route | None, outcome: Outcome, *, attempt: int, rt: Runtime
) -> dict[str, Any]:
    """What the ledger now holds for the object, in the ledger's own field names."""
    return {
        "ledger_id": ref.ledger_id,
        "status": outcome.status,
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_id,
        "route": route.name if route else None,
        "processor": outcome.processor,
        "counts": outcome.counts,
        "outputs": outcome.outputs,
        "reason": outcome.reason,
        "details": outcome.details[:1],
        "attempt": attempt,
        "finished_at": rt.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def _publish(record: Any, rt: Runtime) -> bool:
    """Publish a terminal record's event; False (retry the message) only when that may succeed."""
    if rt.events is None or not record or record.get("status") not in events.DETAIL_TYPES:
        return True
    try:
        with tracing.span("event"):
            rt.events.publish(record)
    except Transient as err:
        log.warning("file event not published, message will be retried: %s", err)
        rt.metrics.emit({"EventsRetried": (1, "Count")}, {})
        return False
    except events.PublishRefused as err:
        log.error("file event refused by EventBridge, not retried: %s", err)
        rt.metrics.emit({"EventsNotPublished": (1, "Count")}, {})
    return True


def hand_off(ref: ObjectRef, route: Route, rt: Runtime) -> bool:
    """Hand ``ref`` with its ledger claim to the large-file state machine (:mod:`ferry.lanes`)."""
    lane = rt.container_lane
    if lane is None:
        log.error(
            "route %s sends this object to the container lane, but FERRY_STATE_MACHINE_ARN "
            "is not set (enable the container lane, or drop lane/size_threshold_bytes)",
            route.name,
        )
        return False  # retried, then dead-lettered with this reason in the log
    owner = lanes.execution_name(ref)
    job = None
    with tracing.span("handoff", processor=route.processor) as span:
        span.annotate(ledger_id=ref.ledger_id, key=ref.key[:200])
        try:
            job = rt.ledger.claim(ref, lease_ms=lane.lease_ms, owner=owner)
            if job.already_done:
                log.info("duplicate delivery: already %s", (job.previous or {}).get("status"))
                return True
            execution = lane.start(ref)
        except lanes.AlreadyRan as err:
            reason = (
                f"the container lane already ran execution {owner} for this object version "
                f"and it closed without a terminal ledger record ({err}); its history says why"
            )
            log.error("%s", reason)
            rt.ledger.mark_dead_lettered(ref, reason, route=route.name)
            return True
        except Exception as err:  # transient, refused (a missing permission) or a bug: retried
            log.warning("hand-off failed, message will be retried: %s", err)
            if job is not None and not job.already_done:
                job.release(f"hand-off: {err}")
            return False
    log.info(
        "handed to the container lane",
        extra={"route": route.name, "size": ref.size, "execution": execution},
    )
    return True


def _report(
    ref: ObjectRef,
    route: Route | None,
    outcome: Outcome,
    *,
    attempt: int,
    started: float,
    rt: Runtime,
) -> None:
    """One log line and one EMF metric line for an object that reached a terminal state."""
    duration_ms = (time.monotonic() - started) * 1000
    records = int(outcome.counts.get("records_loaded", outcome.counts.get("rows_loaded", 0)))
    log_fields = {
        "status": outcome.status,
        "processor": outcome.processor,
        "route": route.name if route else None,
        "counts": outcome.counts,
        "outputs": outcome.outputs,
        "attempt": attempt,
        "duration_ms": round(duration_ms, 1),
    }
    if outcome.status == "rejected":
        log.warning(
            "rejected: %s", outcome.reason, extra={**log_fields, "details": outcome.details[:10]}
        )
    else:
        log.info("loaded", extra=log_fields)
    rt.metrics.object_done(
        processor=outcome.processor,
        route=route.name if route else None,
        status=outcome.status,
        records=records,
        duration_ms=duration_ms,
        properties={"ledger_id": ref.ledger_id, "key": ref.key},
    )


def _run_processor(
    ref: ObjectRef, route: Route | None, rt: Runtime, remaining_ms: Callable[[], int]
) -> Outcome:
    if ref.key.endswith("/"):
        return _rejected("router", f"key {ref.key!r} ends with '/': a folder marker, not a file")
    if route is None:
        names = ", ".join(f"{r.prefix}*{r.suffix}" for r in rt.config.routes)
        return _rejected("router", f"no route matches key {ref.key!r} (routes: {names})")
    processor = processors.get(route.processor)
    with tracing.span(f"process.{route.processor}"):
        try:
            return processor.run(ref, rt.for_object(ref, route, remaining_ms))
        except ObjectGone as err:
            return _rejected(route.processor, f"object version no longer exists ({err})")
        except Refused as err:  # a 4xx answer to a request made from this file: permanent
            return _rejected(route.processor, f"AWS refused a request for this file: {err}")
