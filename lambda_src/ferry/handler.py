"""Lambda entry point ``ferry.handler.handler``: SQS batch in, partial batch response out.

Thin: intake (pure) turns the event into object refs, the ledger claims each
object version, the route's processor runs, rejected files go to the failed
bucket, the ledger records the outcome. Only transient failures (throttling,
timeouts, a database that is down, a lease held by another invocation) are
returned in ``batchItemFailures``; permanently bad files are rejected and
acknowledged. An unexpected exception (a bug) is also returned for retry: the
message then reaches the DLQ and the object is marked dead-lettered there,
rather than being recorded as the file's fault.

Invoked directly by S3 or EventBridge (no SQS), a transient failure is raised
so Lambda's asynchronous retries and on-failure destination apply.

Module-level imports are the standard library and ferry's own light modules;
boto3 is imported when the first client is made, jsonschema and psycopg only by
the processors that use them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ferry import db, intake, obs, processors, tracing
from ferry.aws import S3, DynamoDB, ObjectGone
from ferry.config import Config, Route, load_config
from ferry.ledger import Ledger
from ferry.model import ObjectRef, Outcome, Transient
from ferry.processors.base import ProcessingContext, utc_now
from ferry.rejects import quarantine
from ferry.settings import Settings

log = logging.getLogger("ferry.handler")

DEFAULT_REMAINING_MS = 900_000
#: Do not start an object with less time than this left before the function's deadline.
MIN_REMAINING_MS = 5_000


@dataclass
class Runtime:
    """What lives for the execution environment: settings, configuration, adapters."""

    settings: Settings
    config: Config
    s3: S3
    dynamodb: DynamoDB
    ledger: Ledger
    db: Any
    metrics: obs.Metrics
    clock: Any = field(default=utc_now)

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        obs.setup_logging(settings.log_level)
        config = load_config(settings.resolved_config_path())
        dynamodb = DynamoDB()
        return cls(
            settings=settings,
            config=config,
            s3=S3(),
            dynamodb=dynamodb,
            ledger=Ledger(
                settings.require("ledger_table"), dynamodb, ttl_days=settings.ledger_ttl_days
            ),
            db=db.connect,
            metrics=obs.Metrics(settings.metrics_namespace, settings.service),
        )


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_env()
    return _runtime


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, runtime())


def _local_request_id() -> str:
    import uuid

    return f"local-{uuid.uuid4()}"


def _remaining_ms(context: Any) -> int:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return int(getter()) if callable(getter) else DEFAULT_REMAINING_MS


def handle(event: Any, context: Any, rt: Runtime) -> dict[str, Any]:
    """Process one invocation's event with the given runtime."""
    request_id = getattr(context, "aws_request_id", None) or _local_request_id()
    started = time.monotonic()
    budget_ms = _remaining_ms(context)

    def remaining_ms() -> int:
        if context is not None and callable(getattr(context, "get_remaining_time_in_millis", None)):
            return int(context.get_remaining_time_in_millis())
        return max(0, budget_ms - int((time.monotonic() - started) * 1000))

    failures: list[str] = []
    transient_without_message = False
    with obs.bind(request_id=request_id), tracing.span("intake"):
        parsed = intake.object_refs(event)

    for bad in parsed.bad:
        with obs.bind(request_id=request_id, message_id=bad.message_id, ledger_id=bad.ledger_id):
            log.error("message rejected: %s", bad.reason, extra={"body_excerpt": bad.excerpt})
            try:
                rt.ledger.record_bad_message(bad.ledger_id, bad.message_id, bad.reason, bad.excerpt)
            except Transient as err:
                log.warning("could not record the bad message, retrying: %s", err)
                if bad.message_id:
                    failures.append(bad.message_id)
                else:
                    transient_without_message = True
    if parsed.ignored:
        log.info("ignored test events", extra={"message_ids": parsed.ignored})

    failed_messages: set[str] = set()
    for ref in parsed.refs:
        if ref.message_id and ref.message_id in failed_messages:
            continue  # the whole message comes back; later objects in it are retried then
        if remaining_ms() < MIN_REMAINING_MS:
            # Too close to the deadline to start another object: hand it back
            # rather than be killed half-way (its lease would block the retry).
            log.warning("deadline near, object left for a retry", extra={"key": ref.key})
            if ref.message_id:
                failed_messages.add(ref.message_id)
                failures.append(ref.message_id)
            else:
                transient_without_message = True
            continue
        with obs.bind(
            request_id=request_id,
            key=ref.key,
            bucket=ref.bucket,
            version_id=ref.version_id,
            ledger_id=ref.ledger_id,
            message_id=ref.message_id,
        ):
            ok = process_object(ref, rt, request_id=request_id, remaining_ms=remaining_ms)
        if not ok:
            if ref.message_id:
                failed_messages.add(ref.message_id)
                failures.append(ref.message_id)
            else:
                transient_without_message = True

    rt.metrics.emit(
        {
            "Messages": (len(event.get("Records", [])) if isinstance(event, dict) else 0, "Count"),
            "BadMessages": (len(parsed.bad), "Count"),
            "RetriedMessages": (len(set(failures)), "Count"),
        },
        {},
    )
    if transient_without_message:
        raise Transient("one or more objects failed transiently; see the log for details")
    unique = list(dict.fromkeys(failures))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in unique]}


def _rejected(processor: str, reason: str) -> Outcome:
    return Outcome(status="rejected", processor=processor, reason=reason)


def process_object(ref: ObjectRef, rt: Runtime, *, request_id: str, remaining_ms: Any) -> bool:
    """Run one object to a terminal state; False means "retry the message later"."""
    started = time.monotonic()
    folder_marker = ref.key.endswith("/")
    route: Route | None = None if folder_marker else rt.config.route_for(ref.key)
    processor_name = route.processor if route else "router"
    job = None
    with tracing.span("object", processor=processor_name) as span:
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
                return True
            claimed = time.monotonic()
            outcome = _run_processor(ref, route, rt, remaining_ms)
            processed = time.monotonic()
            if outcome.status == "rejected":
                with tracing.span("quarantine"):
                    outcome.outputs.extend(
                        quarantine(
                            rt.s3,
                            ref,
                            outcome,
                            failed_bucket=rt.settings.require("failed_bucket"),
                            route=route.name if route else None,
                            when=rt.clock(),
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
        except Transient as err:
            log.warning("transient failure, message will be retried: %s", err)
            if job is not None and not job.already_done:
                job.release(str(err))
            return False
        except Exception as err:
            log.exception("unexpected error, message will be retried: %s", err)
            if job is not None and not job.already_done:
                job.release(f"{type(err).__name__}: {err}")
            return False

        duration_ms = (time.monotonic() - started) * 1000
        records = int(outcome.counts.get("records_loaded", outcome.counts.get("rows_loaded", 0)))
        span.annotate(status=outcome.status)
        log_fields = {
            "status": outcome.status,
            "processor": outcome.processor,
            "route": route.name if route else None,
            "counts": outcome.counts,
            "outputs": outcome.outputs,
            "attempt": job.attempt,
            "duration_ms": round(duration_ms, 1),
        }
        if outcome.status == "rejected":
            log.warning(
                "rejected: %s",
                outcome.reason,
                extra={**log_fields, "details": outcome.details[:10]},
            )
        else:
            log.info("loaded", extra=log_fields)
        rt.metrics.object_done(
            processor=outcome.processor,
            status=outcome.status,
            records=records,
            duration_ms=duration_ms,
            properties={"ledger_id": ref.ledger_id, "key": ref.key},
        )
        return True


def _run_processor(ref: ObjectRef, route: Route | None, rt: Runtime, remaining_ms: Any) -> Outcome:
    if ref.key.endswith("/"):
        return _rejected("router", f"key {ref.key!r} ends with '/': a folder marker, not a file")
    if route is None:
        names = ", ".join(f"{r.prefix}*{r.suffix}" for r in rt.config.routes)
        return _rejected("router", f"no route matches key {ref.key!r} (routes: {names})")
    processor = processors.get(route.processor)
    ctx = ProcessingContext(
        route=route,
        config=rt.config,
        settings=rt.settings,
        s3=rt.s3,
        dynamodb=rt.dynamodb,
        ledger_id=ref.ledger_id,
        db=rt.db,
        clock=rt.clock,
        remaining_ms=remaining_ms,
        log=logging.getLogger(f"ferry.processors.{route.processor}"),
    )
    with tracing.span(f"process.{route.processor}"):
        try:
            return processor.run(ref, ctx)
        except ObjectGone as err:
            return _rejected(route.processor, f"object version no longer exists ({err})")
