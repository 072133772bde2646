"""What the ``ferry`` command does, over adapters (ledger, S3, SQS): no printing, no boto3.

Each operation returns plain data (dicts and lists) that :mod:`ferry.cli`
renders as a table or JSON, and raises :class:`OperatorError` with one line a
person can act on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote

from ferry.aws import ObjectGone
from ferry.cli.adapters import MoveProgress, Objects, Queues, Unsupported
from ferry.ledger import REPROCESSABLE, STATUSES, Ledger, NotReprocessable, refusal
from ferry.model import Transient

#: What an S3 version id looks like (and ``null``), to tell ``key@version`` from a key with @.
_VERSION_RE = re.compile(r"null|[A-Za-z0-9._-]{16,1024}")
#: User metadata json_transform writes on every processed object (its source version).
SOURCE_METADATA = ("ferry-source-bucket", "ferry-source-key", "ferry-source-version")
_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
DONE = frozenset({"loaded", "rejected", "dead_lettered", "failed"})


class OperatorError(Exception):
    """One line for the operator (the command prints it and exits non-zero)."""


@dataclass(frozen=True, slots=True)
class Target:
    bucket: str
    key: str
    version_id: str | None = None  # None: every version

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def ledger_id(self, version_id: str | None = None) -> str:
        return f"{self.uri}#{version_id or self.version_id or 'null'}"


def parse_target(text: str, default_bucket: str | None, version: str | None = None) -> Target:
    """``s3://bucket/key``, ``key`` (the raw bucket), ``…@version`` or a ledger id ``…#version``."""
    text = text.strip()
    if text.startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
        if not bucket or not key:
            raise OperatorError(f"{text!r}: expected s3://bucket/key")
    else:
        if not default_bucket:
            raise OperatorError(
                f"{text!r} names no bucket: use s3://bucket/key, or give the raw bucket "
                "(--outputs, --raw-bucket or FERRY_RAW_BUCKET)"
            )
        bucket, key = default_bucket, text
    if version is None:
        for mark in ("#", "@"):
            head, sep, tail = key.rpartition(mark)
            if sep and head and _VERSION_RE.fullmatch(tail):
                key, version = head, tail
                break
    return Target(bucket, key, version)


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """``24h``, ``90m``, ``7d``, ``1w``, ``1h30m`` ago, or an ISO 8601 time."""
    compact = text.strip().lower()
    parts = _DURATION_RE.findall(compact)
    if parts and _DURATION_RE.sub("", compact).strip() == "":
        return now - dt.timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise OperatorError(
            f"--since {text!r}: use a duration (30m, 24h, 7d) or an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def attempts(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The item's history, with a row for each attempt it has no record of.

    Items written before the history existed get one row from their own fields;
    an attempt number with no entry is one whose lease expired (the invocation
    crashed or timed out) before it finished or released its claim.
    """
    history = [dict(h) for h in item.get("history") or []]
    if not history and item.get("status") in DONE | {"in_progress"}:
        history = [
            {
                "event": "finished" if item.get("status") in DONE else "claimed",
                "attempt": item.get("attempt"),
                "status": item.get("status"),
                "claimed_at": item.get("claimed_at"),
                "finished_at": item.get("finished_at"),
                "counts": item.get("counts"),
                "outputs": item.get("outputs"),
                "reason": item.get("reason"),
                "timings": item.get("timings"),
            }
        ]
    recorded = {int(h["attempt"]) for h in history if h.get("attempt") is not None}
    for n in range(1, int(item.get("attempt") or 0) + 1):
        if n not in recorded and not (
            item.get("status") == "in_progress" and n == int(item.get("attempt") or 0)
        ):
            history.append(
                {"event": "lost", "attempt": n, "reason": "no record: the lease expired"}
            )
    if item.get("status") == "in_progress":
        history.append(
            {
                "event": "claimed",
                "attempt": item.get("attempt"),
                "status": "in_progress",
                "claimed_at": item.get("claimed_at"),
                "owner": item.get("owner"),
            }
        )
    return sorted(history, key=_when)


def _when(entry: dict[str, Any]) -> str:
    return str(entry.get("claimed_at") or entry.get("at") or entry.get("finished_at") or "")


def lineage(ledger_id: str, outputs: list[str]) -> list[str]:
    """How to get from each output of a loaded attempt back to its file, and the reverse."""
    steps = []
    for out in outputs:
        if out.startswith("postgresql:"):
            table, _, load = out[len("postgresql:") :].partition("#load=")
            if load:
                steps.append(
                    f"{table}: rows WHERE _ferry_load_id = {load} (source line: _ferry_line);"
                    f" ferry.loads load_id {load} names this file"
                )
            else:
                steps.append(f"{table}: loaded before lineage columns existed")
        elif out.startswith("dynamodb:"):
            steps.append(
                f"{out[len('dynamodb:') :]}: items WHERE ingested_from = {ledger_id}"
                " (record index: ingested_record)"
            )
        elif out.startswith("s3://"):
            steps.append(f"{out}: object metadata ferry-source-* name this version")
    return steps


class Operator:
    """The operations of the ``ferry`` command on one deployment."""

    def __init__(
        self,
        ledger: Ledger,
        objects: Objects,
        queues: Queues,
        *,
        raw_bucket: str | None = None,
        processed_bucket: str | None = None,
        queue_url: str | None = None,
        dlq_url: str | None = None,
        status_index: str = "status-time",
        who: Callable[[], str] = lambda: "unknown",
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.ledger = ledger
        self.objects = objects
        self.queues = queues
        self.raw_bucket = raw_bucket
        self.processed_bucket = processed_bucket
        self.queue_url = queue_url
        self.dlq_url = dlq_url
        self.status_index = status_index
        self.who = who
        self.now = now

    # --- status ------------------------------------------------------------------------

    def target(self, text: str, version: str | None = None) -> Target:
        return parse_target(text, self.raw_bucket, version)

    def _source_of(self, target: Target) -> Target | None:
        """The raw object a processed object was made from (its ferry-source-* metadata)."""
        if target.bucket == self.raw_bucket:
            return None
        try:
            head = self.objects.head(target.bucket, target.key, target.version_id)
        except ObjectGone:
            return None
        meta = head["metadata"]
        if "ferry-source-bucket" not in meta or "ferry-source-key" not in meta:
            return None
        return Target(
            meta["ferry-source-bucket"],
            unquote(meta["ferry-source-key"]),
            meta.get("ferry-source-version") or "null",
        )

    def versions(self, target: Target) -> tuple[list[str], str | None]:
        """Ledger ids of every version of the key (and a note when S3 could not list them)."""
        if target.version_id:
            return [target.ledger_id()], None
        note = None
        try:
            ids = [
                target.ledger_id(v.version_id)
                for v in self.objects.versions(target.bucket, target.key)
            ]
        except ObjectGone as err:
            raise OperatorError(f"{target.uri}: {err}") from None
        except Transient as err:
            if "NoSuchBucket" in str(err):
                raise OperatorError(f"bucket {target.bucket!r} does not exist") from None
            if "AccessDenied" not in str(err):
                raise
            ids, note = [], "cannot list the key's versions (s3:ListBucketVersions denied)"
        null = target.ledger_id("null")
        return ([*ids, null] if null not in ids else ids), note

    def status(self, text: str, version: str | None = None) -> dict[str, Any]:
        """Every attempt of every version of an object, and the path from its outputs back."""
        target = self.target(text, version)
        path: list[str] = []
        source = self._source_of(target)
        if source is not None:
            path.append(f"{target.uri} was written from {source.ledger_id()}")
            target = source
        ids, note = self.versions(target)
        found = []
        for ledger_id in ids:
            item = self.ledger.get(ledger_id)
            if item is None:
                continue
            loaded = [h for h in item.get("history") or [] if h.get("status") == "loaded"]
            outputs = list((loaded[-1] if loaded else item).get("outputs") or [])
            found.append(
                {
                    "ledger_id": ledger_id,
                    "bucket": item.get("bucket", target.bucket),
                    "key": item.get("key", target.key),
                    "version_id": item.get("version_id", ledger_id.rpartition("#")[2]),
                    "status": item.get("status"),
                    "route": item.get("route"),
                    "processor": item.get("processor"),
                    "attempt": int(item.get("attempt") or 0),
                    "reason": item.get("reason"),
                    "first_seen_at": item.get("first_seen_at"),
                    "status_at": item.get("status_at") or item.get("finished_at"),
                    "counts": {k: int(v) for k, v in (item.get("counts") or {}).items()},
                    "outputs": list(item.get("outputs") or []),
                    "attempts": plain(attempts(item)),
                    "lineage": lineage(ledger_id, outputs),
                }
            )
        if not found:
            where = f" ({note})" if note else ""
            name = target.ledger_id() if target.version_id else target.uri
            raise OperatorError(f"no ledger record for {name}{where}")
        return {"target": target.uri, "path": path, "note": note, "versions": found}

    # --- ls / summary ------------------------------------------------------------------

    def ls(self, status: str, since: dt.datetime, route: str | None = None) -> list[dict[str, Any]]:
        if status not in STATUSES:
            raise OperatorError(f"--status {status!r}: one of {', '.join(STATUSES)}")
        return [
            {
                "status_at": item.get("status_at"),
                "status": item.get("status"),
                "route": item.get("route"),
                "uri": f"s3://{item.get('bucket')}/{item.get('key')}"
                if item.get("bucket")
                else item.get("ledger_id"),
                "version_id": item.get("version_id"),
                "attempt": int(item.get("attempt") or 0),
                "reason": item.get("reason"),
                "ledger_id": item.get("ledger_id"),
            }
            for item in self.ledger.by_status(
                status, since, self.now(), route=route, index=self.status_index
            )
        ]

    def summary(self, since: dt.datetime) -> dict[str, Any]:
        """Files and rows by route and status since ``since``, and the queues' depths."""
        routes: dict[str, dict[str, int]] = {}
        for status in STATUSES:
            for item in self.ledger.by_status(status, since, self.now(), index=self.status_index):
                row = routes.setdefault(str(item.get("route") or "(none)"), {})
                row[status] = row.get(status, 0) + 1
                counts = item.get("counts") or {}
                for name in ("rows_loaded", "records_loaded", "documents", "items_written"):
                    if name in counts:
                        row["loaded_units"] = row.get("loaded_units", 0) + int(counts[name])
                        break
                for name in ("rows_rejected", "records_invalid"):
                    row["rejected_units"] = row.get("rejected_units", 0) + int(counts.get(name, 0))
        queues = {}
        for name, url in (("queue", self.queue_url), ("dlq", self.dlq_url)):
            if url:
                waiting, in_flight = self.queues.depth(url)
                queues[name] = {"waiting": waiting, "in_flight": in_flight}
        return {"since": _iso(since), "until": _iso(self.now()), "routes": routes, "queues": queues}

    # --- reprocess ---------------------------------------------------------------------

    def reprocess(self, text: str, version: str | None = None) -> dict[str, Any]:
        """A new, recorded attempt of a rejected or dead-lettered object version."""
        if not self.queue_url:
            raise OperatorError("no queue URL: pass --outputs, --queue-url or FERRY_QUEUE_URL")
        target = self.target(text, version)
        if target.version_id is None:
            ids, _ = self.versions(target)
            items = [(i, self.ledger.get(i)) for i in ids]
            candidates = [i for i, item in items if item and item.get("status") in REPROCESSABLE]
            known_items = [(i, item) for i, item in items if item]
            if not candidates and len(known_items) == 1:
                only, item = known_items[0]
                raise OperatorError(refusal(only, str(item.get("status"))))
            if not candidates:
                known = ", ".join(f"{i}: {item.get('status')}" for i, item in items if item)
                raise OperatorError(
                    f"nothing to reprocess for {target.uri}"
                    + (f" ({known})" if known else ": no ledger record")
                )
            if len(candidates) > 1:
                raise OperatorError(
                    f"{target.uri} has {len(candidates)} versions to reprocess; name one with "
                    f"@version ({', '.join(c.rpartition('#')[2] for c in candidates)})"
                )
            target = Target(target.bucket, target.key, candidates[0].rpartition("#")[2])
        ledger_id = target.ledger_id()
        current = self.ledger.get(ledger_id)
        if current is None:
            raise OperatorError(f"no ledger record for {ledger_id}")
        if current.get("status") not in REPROCESSABLE:
            raise OperatorError(refusal(ledger_id, str(current.get("status"))))
        try:
            head = self.objects.head(target.bucket, target.key, target.version_id)
        except ObjectGone:
            raise OperatorError(
                f"{ledger_id}: the object version no longer exists in S3; nothing to reprocess"
            ) from None
        try:
            item = self.ledger.request_reprocess(ledger_id, requested_by=self.who())
        except NotReprocessable as err:
            raise OperatorError(str(err)) from None
        message_id = self.queues.send(self.queue_url, json.dumps(s3_event(target, head)))
        return {
            "ledger_id": ledger_id,
            "status": item.get("status"),
            "previous_status": current.get("status"),
            "message_id": message_id,
            "queue_url": self.queue_url,
        }

    def wait(
        self, ledger_id: str, timeout: float, sleep: Callable[[float], None]
    ) -> dict[str, Any]:
        """Poll the ledger until the object version reaches a terminal state again."""
        waited = 0.0
        while True:
            item = self.ledger.get(ledger_id) or {}
            if item.get("status") in DONE:
                return item
            if waited >= timeout:
                raise OperatorError(
                    f"{ledger_id} is still {item.get('status')} after {timeout:.0f} s;"
                    " the message is queued: check again with ferry status"
                )
            sleep(1.0)
            waited += 1.0

    # --- redrive -----------------------------------------------------------------------

    def redrive(self, *, rate: int | None = None, by_copy: bool = False) -> Iterator[MoveProgress]:
        """The DLQ back to the ingest queue: SQS's message move task, with progress.

        An endpoint without move tasks (the local emulator) gets the same result
        by receive / send / delete (``by_copy``, or automatically when the
        endpoint says it does not implement the action).
        """
        if not self.queue_url or not self.dlq_url:
            raise OperatorError("no queue URLs: pass --outputs, or --queue-url and --dlq-url")
        waiting, _ = self.queues.depth(self.dlq_url)
        if not by_copy:
            dlq_arn, queue_arn = self.queues.arn(self.dlq_url), self.queues.arn(self.queue_url)
            try:
                self.queues.start_move(dlq_arn, queue_arn, rate)
            except Unsupported:
                by_copy = True
            else:
                yield from self.queues.wait_move(dlq_arn)
                return
        yield MoveProgress("COPYING", 0, waiting)
        moved = 0
        for moved in self.queues.copy_move(self.dlq_url, self.queue_url):
            yield MoveProgress("COPYING", moved, waiting)
        yield MoveProgress("COMPLETED", moved, waiting)


def s3_event(target: Target, head: dict[str, Any]) -> dict[str, Any]:
    """An S3 ObjectCreated notification for one object version, as S3 would send it."""
    obj: dict[str, Any] = {"key": quote_plus(target.key, safe="/"), "size": head["size"]}
    if head.get("etag"):
        obj["eTag"] = head["etag"]
    if target.version_id and target.version_id != "null":
        obj["versionId"] = target.version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": _iso(dt.datetime.now(dt.UTC)),
                "userIdentity": {"principalId": "ferry-reprocess"},
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": target.bucket}, "object": obj},
            }
        ]
    }


def plain(value: Any) -> Any:
    """Decimals from DynamoDB as ints (or floats), recursively, for JSON."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
