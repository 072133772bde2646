"""The job ledger: one DynamoDB item per object version, and the idempotency guard.

Item (partition key ``ledger_id`` = ``s3://bucket/key#version``)::

    status        in_progress | loaded | rejected | dead_lettered | failed
    attempt       how many times the object was claimed
    last_error    the last transient error (written when a claim is released)
    lease_until   epoch ms; an in_progress claim is live until then (the claiming
                  invocation's deadline, from context.get_remaining_time_in_millis)
    owner         the claiming invocation's request id
    processor, route, counts, outputs, reason, details, timings (ms)
    bucket, key, version_id, etag, size, sequencer, event_time
    first_seen_at, claimed_at, finished_at (ISO 8601 UTC)
    expires_at    epoch seconds: DynamoDB TTL (FERRY_LEDGER_TTL_DAYS)
    status_at     when the status last changed (ISO 8601 UTC)
    status_day    ``<status>#<YYYY-MM-DD>`` of ``status_at``: with ``status_at`` the
                  key of the ``status-time`` index that ``ferry ls`` and
                  ``ferry summary`` query (one partition per status and day)
    history       every attempt, appended, never overwritten: ``finished``
                  (status, counts, outputs, reason, timings of that attempt),
                  ``retry`` (a transient failure released the claim),
                  ``dead_lettered`` and ``reprocess_requested`` entries

Claiming is one conditional UpdateItem: it succeeds when there is no item yet,
when an ``in_progress`` lease has expired (the previous invocation crashed or
timed out: the object is reclaimed and ``attempt`` goes up), when the claim is
held by the same ``owner`` (the container lane's owner is its execution name,
which a retried task and a redelivered hand-off share: :mod:`ferry.lanes`;
a function invocation's request id is never reused), or when the object
was ``dead_lettered`` (its message reached the DLQ, :mod:`ferry.deadletter`
recorded it, and an operator redrove it on purpose; ``failed`` is the same
state written by ferry 1.x), or when an operator asked for it to be
processed again (``reprocess_requested``, :meth:`Ledger.request_reprocess`:
only a ``rejected`` or dead-lettered object; a ``loaded`` one never is).
Otherwise the current item decides: ``loaded`` / ``rejected`` are terminal, so a
duplicate delivery is a no-op; a live lease held by another invocation is
:class:`~ferry.model.Transient` (the message comes back after the visibility timeout).

Why not Powertools' idempotency utility: it was the first candidate. It keys
records on a hash of the event (or a JMESPath selection of it), stores the
handler's return value with status INPROGRESS / COMPLETED / EXPIRED, and can
end an in-progress record at the Lambda deadline when given the context. What
it does not model is what this pipeline needs from the same record: the unit
is an object *version* reached through several envelopes (S3 -> SQS, SNS,
EventBridge, a redrive) and several to a message, so the key has to come from
ferry's own intake anyway; a completed record expires after
``expires_after_seconds`` and the object would then be processed again, where
a loaded or rejected file must stay done for the ledger's whole retention; the
statuses people query ("what happened to this file?") are loaded / rejected /
failed with counts, outputs and reasons, not a cached response; and
dead-lettered objects are marked from outside any invocation and may be
redriven on purpose. Bending the utility to that would mean custom persistence
and hooks around every one of those points, plus another dependency in the
zip; a dedicated ledger is two DynamoDB calls and says exactly what it does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.aws import DynamoDB, Refused, translate_errors
from ferry.model import ObjectRef, Outcome, Transient

log = logging.getLogger("ferry.ledger")

TERMINAL = frozenset({"loaded", "rejected"})
#: Statuses a new claim may take over (a redrive after dead-lettering).
REDRIVABLE = ("dead_lettered", "failed")
#: What an operator's reprocess request sets; a new claim takes it over.
REPROCESS = "reprocess_requested"
#: Statuses an operator may ask to reprocess (a repeated request re-sends the message).
REPROCESSABLE = ("rejected", "dead_lettered", "failed", REPROCESS)
#: Every status an item can have (the values ``ferry ls --status`` accepts).
STATUSES = ("in_progress", "loaded", "rejected", "dead_lettered", "failed", REPROCESS)
#: The global secondary index on (status_day, status_at) that ``ferry ls`` queries.
STATUS_INDEX = "status-time"
MAX_HISTORY_TEXT = 500  # a reason in a history entry (the item's own reason keeps 2000)
MAX_DETAILS = 50  # the item must stay far below DynamoDB's 400 KB
MAX_TEXT = 2_000


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_day(status: str, moment: dt.datetime) -> str:
    """The ``status-time`` index's partition key: ``rejected#2026-11-24``."""
    return f"{status}#{moment.astimezone(dt.UTC).date().isoformat()}"


def _history_entry(**fields: Any) -> list[dict[str, Any]]:
    """One history entry (a one-element list for ``list_append``), without empty fields."""
    entry = {k: v for k, v in fields.items() if v is not None and v not in ({}, [])}
    if isinstance(entry.get("reason"), str):
        entry["reason"] = _clip(entry["reason"][:MAX_HISTORY_TEXT])
    return [entry]


_APPEND_HISTORY = "history = list_append(if_not_exists(history, :no_history), :entry)"


class NotReprocessable(Exception):
    """An operator asked to reprocess an object version the ledger says must not be."""


def refusal(ledger_id: str, status: str) -> str:
    """Why an object version in ``status`` cannot be reprocessed (one line)."""
    why = {
        "loaded": "it is loaded, and a loaded version is never loaded twice"
        " (upload a corrected file as a new version instead)",
        "in_progress": "it is being processed right now",
    }.get(status, f"its status is {status}")
    return f"{ledger_id} cannot be reprocessed: {why}"


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _clip(text: str | None) -> str | None:
    """At most MAX_TEXT characters of valid UTF-8.

    A lone surrogate becomes its escape, for example ``\\udc80``.
    """
    if text is None:
        return None
    text = _utf8(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _clean_details(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for detail in details[:MAX_DETAILS]:
        cleaned.append(
            {
                _utf8(str(k)): _clip(v) if isinstance(v, str) else v
                for k, v in detail.items()
                if v is not None and (isinstance(v, str | int | bool))
            }
        )
    return cleaned


def _is_conditional_failure(err: Exception) -> bool:
    cause = err.__cause__
    response = getattr(cause, "response", None)
    return (
        isinstance(response, dict)
        and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


@dataclass(slots=True)
class Job:
    """A claim on one object version (or the finding that it is already done)."""

    ledger: Ledger
    ref: ObjectRef
    owner: str
    attempt: int
    already_done: bool = False
    previous: Mapping[str, Any] | None = None
    claimed_at: str | None = None

    def finish(self, outcome: Outcome, *, route: str | None, timings: Mapping[str, int]) -> None:
        self.ledger._finish(self, outcome, route, timings)

    def release(self, reason: str) -> None:
        """Give the lease back after a transient failure so the retry can claim at once."""
        self.ledger._release(self, reason)


class Ledger:
    def __init__(
        self,
        table: str,
        dynamodb: DynamoDB,
        *,
        ttl_days: int = 90,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.table = table
        self.dynamodb = dynamodb
        self.ttl_days = ttl_days
        self.clock = clock

    # --- reads ------------------------------------------------------------------------

    def get(self, ledger_id: str) -> dict[str, Any] | None:
        with translate_errors(f"GetItem {self.table}"):
            r = self.dynamodb.client.get_item(
                TableName=self.table,
                Key={"ledger_id": {"S": ledger_id}},
                ConsistentRead=True,
            )
        item = r.get("Item")
        return self.dynamodb.deserialize(item) if item else None

    # --- claim --------------------------------------------------------------------------

    def _expires_at(self, now: dt.datetime) -> int:
        return int(now.timestamp()) + self.ttl_days * 86_400

    def claim(self, ref: ObjectRef, *, lease_ms: int, owner: str) -> Job:
        """Claim ``ref`` until now + ``lease_ms``; see the module docs for the rules."""
        now = self.clock()
        values: dict[str, Any] = {
            ":in_progress": "in_progress",
            ":failed": REDRIVABLE[1],
            ":dead_lettered": REDRIVABLE[0],
            ":reprocess": REPROCESS,
            ":status_day": status_day("in_progress", now),
            ":lease": _ms(now) + max(lease_ms, 1_000),
            ":now_ms": _ms(now),
            ":now": _iso(now),
            ":owner": owner,
            ":zero": 0,
            ":one": 1,
            ":bucket": ref.bucket,
            ":key": ref.key,
            ":version": ref.version_id or "null",
            ":expires": self._expires_at(now),
        }
        sets = [
            "#status = :in_progress",
            "lease_until = :lease",
            "#owner = :owner",
            "attempt = if_not_exists(attempt, :zero) + :one",
            "claimed_at = :now",
            "status_at = :now",
            "status_day = :status_day",
            "first_seen_at = if_not_exists(first_seen_at, :now)",
            "#bucket = :bucket",
            "#key = :key",
            "version_id = :version",
            "expires_at = :expires",
        ]
        for attribute, value in (
            ("etag", ref.etag),
            ("size", ref.size),
            ("sequencer", ref.sequencer),
            ("event_time", ref.event_time),
        ):
            if value is not None:
                sets.append(f"#{attribute} = :{attribute}")
                values[f":{attribute}"] = value
        names = {
            "#status": "status",
            "#owner": "owner",
            "#bucket": "bucket",
            "#key": "key",
            **{
                f"#{a}": a for a in ("etag", "size", "sequencer", "event_time") if f":{a}" in values
            },
        }
        try:
            with translate_errors(f"UpdateItem {self.table} (claim)"):
                r = self.dynamodb.client.update_item(
                    TableName=self.table,
                    Key={"ledger_id": {"S": ref.ledger_id}},
                    UpdateExpression="SET " + ", ".join(sets),
                    ConditionExpression=(
                        "attribute_not_exists(ledger_id)"
                        " OR (#status = :in_progress AND lease_until < :now_ms)"
                        " OR (#status = :in_progress AND #owner = :owner)"
                        " OR #status IN (:dead_lettered, :failed, :reprocess)"
                    ),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=self.dynamodb.serialize(values),
                    ReturnValues="ALL_NEW",
                )
        except (Transient, Refused) as err:
            if not _is_conditional_failure(err):
                raise
            current = self.get(ref.ledger_id)
            if current is None:  # expired by TTL in between: claim again
                return self.claim(ref, lease_ms=lease_ms, owner=owner)
            status = current.get("status")
            if status in TERMINAL:
                return Job(self, ref, owner, int(current.get("attempt", 0)), True, current)
            until = int(current.get("lease_until", 0))
            raise Transient(
                f"{ref} is being processed by {current.get('owner')} "
                f"(lease for another {max(0, until - _ms(now))} ms)"
            ) from None
        item = self.dynamodb.deserialize(r["Attributes"])
        return Job(self, ref, owner, int(item.get("attempt", 1)), claimed_at=_iso(now))

    # --- completion ---------------------------------------------------------------------

    def _finish(
        self, job: Job, outcome: Outcome, route: str | None, timings: Mapping[str, int]
    ) -> None:
        now = self.clock()
        values: dict[str, Any] = {
            ":status": outcome.status,
            ":processor": outcome.processor,
            ":counts": {k: int(v) for k, v in outcome.counts.items()},
            ":outputs": list(outcome.outputs),
            ":details": _clean_details(outcome.details),
            ":finished": _iso(now),
            ":timings": {k: int(v) for k, v in timings.items()},
            ":owner": job.owner,
            ":expires": self._expires_at(now),
            ":status_day": status_day(outcome.status, now),
            ":no_history": [],
            ":entry": _history_entry(
                event="finished",
                attempt=job.attempt,
                status=outcome.status,
                owner=job.owner,
                processor=outcome.processor,
                route=route,
                claimed_at=job.claimed_at,
                finished_at=_iso(now),
                counts={k: int(v) for k, v in outcome.counts.items()},
                outputs=list(outcome.outputs),
                reason=outcome.reason,
                timings={k: int(v) for k, v in timings.items()},
            ),
        }
        sets = [
            "#status = :status",
            "status_at = :finished",
            "status_day = :status_day",
            _APPEND_HISTORY,
            "processor = :processor",
            "counts = :counts",
            "outputs = :outputs",
            "details = :details",
            "finished_at = :finished",
            "timings = :timings",
            "expires_at = :expires",
        ]
        if outcome.reason:
            sets.append("reason = :reason")
            values[":reason"] = _clip(outcome.reason)
        if route:
            sets.append("#route = :route")
            values[":route"] = route
        names = {"#status": "status", "#owner": "owner"}
        if route:
            names["#route"] = "route"
        expression = "SET " + ", ".join(sets) + " REMOVE lease_until"
        if not outcome.reason:
            expression += ", reason"
        try:
            with translate_errors(f"UpdateItem {self.table} (finish)"):
                self.dynamodb.client.update_item(
                    TableName=self.table,
                    Key={"ledger_id": {"S": job.ref.ledger_id}},
                    UpdateExpression=expression,
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=self.dynamodb.serialize(values),
                )
        except (Transient, Refused) as err:
            if not _is_conditional_failure(err):
                raise
            # Our lease ran out and another invocation reclaimed the object; its
            # (idempotent) run writes the final record.
            log.warning(
                "ledger claim lost before finishing", extra={"ledger_id": job.ref.ledger_id}
            )

    def _release(self, job: Job, reason: str) -> None:
        now = self.clock()
        try:
            with translate_errors(f"UpdateItem {self.table} (release)"):
                self.dynamodb.client.update_item(
                    TableName=self.table,
                    Key={"ledger_id": {"S": job.ref.ledger_id}},
                    UpdateExpression=(
                        "SET lease_until = :now_ms, last_error = :reason, " + _APPEND_HISTORY
                    ),
                    ConditionExpression="#owner = :owner AND #status = :in_progress",
                    ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                    ExpressionAttributeValues=self.dynamodb.serialize(
                        {
                            ":now_ms": _ms(now) - 1,
                            ":reason": _clip(reason),
                            ":owner": job.owner,
                            ":in_progress": "in_progress",
                            ":no_history": [],
                            ":entry": _history_entry(
                                event="retry",
                                attempt=job.attempt,
                                owner=job.owner,
                                claimed_at=job.claimed_at,
                                at=_iso(now),
                                reason=reason,
                            ),
                        }
                    ),
                )
        except (Transient, Refused) as err:
            # Releasing is an optimisation (the lease expires anyway): keep the original error.
            log.warning("could not release the ledger lease: %s", err)

    # --- operators ----------------------------------------------------------------------

    def request_reprocess(self, ledger_id: str, *, requested_by: str) -> dict[str, Any]:
        """Mark a rejected or dead-lettered object version for a new attempt.

        One conditional write: the status becomes ``reprocess_requested`` (which
        the next claim takes over, so the attempt count goes up and the new
        attempt is appended to ``history``) only while it is ``rejected``,
        ``dead_lettered``, ``failed`` or already ``reprocess_requested`` (a
        repeated request is how a lost message is sent again). A ``loaded``
        version is refused: exactly-once loading holds for operators too.
        Returns the item as written; raises :class:`NotReprocessable`.
        """
        now = self.clock()
        values: dict[str, Any] = {
            ":requested": REPROCESS,
            ":now": _iso(now),
            ":status_day": status_day(REPROCESS, now),
            ":no_history": [],
            ":entry": _history_entry(
                event=REPROCESS, status=REPROCESS, at=_iso(now), requested_by=requested_by
            ),
            **{f":s{i}": status for i, status in enumerate(REPROCESSABLE)},
        }
        allowed = ", ".join(f":s{i}" for i in range(len(REPROCESSABLE)))
        try:
            with translate_errors(f"UpdateItem {self.table} (reprocess)"):
                r = self.dynamodb.client.update_item(
                    TableName=self.table,
                    Key={"ledger_id": {"S": ledger_id}},
                    UpdateExpression=(
                        "SET #status = :requested, status_at = :now, status_day = :status_day,"
                        " reprocess_requested_at = :now, " + _APPEND_HISTORY + " REMOVE lease_until"
                    ),
                    ConditionExpression=f"#status IN ({allowed})",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=self.dynamodb.serialize(values),
                    ReturnValues="ALL_NEW",
                )
        except (Transient, Refused) as err:
            if not _is_conditional_failure(err):
                raise
            current = self.get(ledger_id)
            if current is None:
                raise NotReprocessable(f"no ledger record for {ledger_id}") from None
            raise NotReprocessable(refusal(ledger_id, str(current.get("status")))) from None
        return self.dynamodb.deserialize(r["Attributes"])

    def by_status(
        self,
        status: str,
        since: dt.datetime,
        until: dt.datetime | None = None,
        *,
        route: str | None = None,
        index: str = STATUS_INDEX,
    ) -> Iterator[dict[str, Any]]:
        """Items whose status became ``status`` in [since, until], newest first.

        Queries the ``status-time`` index one day partition at a time (never a
        Scan). The index projects what listings need, not ``history`` or
        ``details``: :meth:`get` reads the whole item.
        """
        until = until or self.clock()
        day = until.astimezone(dt.UTC).date()
        first = since.astimezone(dt.UTC).date()
        values: dict[str, Any] = {":since": _iso(since), ":until": _iso(until)}
        extra: dict[str, Any] = {}
        if route:
            values[":route"] = route
            extra = {
                "FilterExpression": "#route = :route",
                "ExpressionAttributeNames": {"#route": "route"},
            }
        while day >= first:
            values[":day"] = f"{status}#{day.isoformat()}"
            request: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": index,
                "KeyConditionExpression": (
                    "status_day = :day AND status_at BETWEEN :since AND :until"
                ),
                "ExpressionAttributeValues": self.dynamodb.serialize(values),
                "ScanIndexForward": False,
                **extra,
            }
            while True:
                with translate_errors(f"Query {self.table} index {index}"):
                    r = self.dynamodb.client.query(**request)
                for item in r.get("Items", []):
                    yield self.dynamodb.deserialize(item)
                if not r.get("LastEvaluatedKey"):
                    break
                request["ExclusiveStartKey"] = r["LastEvaluatedKey"]
            day -= dt.timedelta(days=1)

    # --- failures outside the processors ------------------------------------------------

    def mark_dead_lettered(
        self,
        ref: ObjectRef,
        reason: str,
        *,
        route: str | None = None,
        receive_count: int | None = None,
        message_id: str | None = None,
    ) -> bool:
        """Record ``dead_lettered`` for an object whose message reached the DLQ.

        Keeps what a later reprocess needs (bucket, key, version, route) and the
        attempt count (claims so far; a file never claimed counts its
        deliveries instead). The last transient error the processor left in
        ``last_error`` stays, and ``reason`` says what happened. Returns False
        (and changes nothing) when the object already reached a terminal state:
        a duplicate message may be dead-lettered after the original was processed.
        """
        now = self.clock()
        values: dict[str, Any] = {
            ":dead": "dead_lettered",
            ":reason": _clip(reason),
            ":now": _iso(now),
            ":bucket": ref.bucket,
            ":key": ref.key,
            ":version": ref.version_id or "null",
            ":expires": self._expires_at(now),
            ":loaded": "loaded",
            ":rejected": "rejected",
            ":attempts": max(int(receive_count or 0), 0),
            ":status_day": status_day("dead_lettered", now),
            ":no_history": [],
            ":entry": _history_entry(
                event="dead_lettered",
                status="dead_lettered",
                at=_iso(now),
                reason=reason,
                receive_count=receive_count,
                message_id=message_id,
            ),
        }
        sets = [
            "#status = :dead",
            "reason = :reason",
            "status_at = :now",
            "status_day = :status_day",
            _APPEND_HISTORY,
            "dead_lettered_at = :now",
            "finished_at = :now",
            "#bucket = :bucket",
            "#key = :key",
            "version_id = :version",
            "expires_at = :expires",
            "first_seen_at = if_not_exists(first_seen_at, :now)",
            "attempt = if_not_exists(attempt, :attempts)",
        ]
        names = {"#status": "status", "#bucket": "bucket", "#key": "key"}
        if route:
            sets.append("#route = if_not_exists(#route, :route)")
            names["#route"] = "route"
            values[":route"] = route
        if receive_count is not None:
            sets.append("receive_count = :attempts")
        if message_id:
            sets.append("message_id = :message_id")
            values[":message_id"] = message_id
        try:
            with translate_errors(f"UpdateItem {self.table} (dead-lettered)"):
                self.dynamodb.client.update_item(
                    TableName=self.table,
                    Key={"ledger_id": {"S": ref.ledger_id}},
                    UpdateExpression="SET " + ", ".join(sets) + " REMOVE lease_until",
                    ConditionExpression=(
                        "attribute_not_exists(ledger_id) OR NOT #status IN (:loaded, :rejected)"
                    ),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=self.dynamodb.serialize(values),
                )
        except (Transient, Refused) as err:
            if _is_conditional_failure(err):
                return False
            raise
        return True

    def record_bad_message(
        self,
        ledger_id: str,
        message_id: str | None,
        reason: str,
        excerpt: str,
        *,
        status: str = "failed",
    ) -> None:
        """A message that named no object (unparseable, unsupported event): ``failed``.

        The dead-letter consumer records such messages as ``dead_lettered``.
        """
        now = self.clock()
        item = {
            "ledger_id": ledger_id,
            "status": status,
            "reason": _clip(reason),
            "message_id": message_id or "unknown",
            "body_excerpt": _clip(excerpt) or "",
            "finished_at": _iso(now),
            "first_seen_at": _iso(now),
            "status_at": _iso(now),
            "status_day": status_day(status, now),
            "processor": "intake",
            "expires_at": self._expires_at(now),
        }
        self.dynamodb.put_item(self.table, item)


def from_env() -> Ledger:
    """The ledger of the deployed function (FERRY_LEDGER_TABLE, FERRY_LEDGER_TTL_DAYS)."""
    from ferry.settings import Settings

    settings = Settings.from_env()
    return Ledger(settings.require("ledger_table"), DynamoDB(), ttl_days=settings.ledger_ttl_days)
