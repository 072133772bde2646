"""The summary table of the local stack: what the ledger, the sinks and the queues say.

Nothing here trusts what a worker believes: per file the ledger gives status,
counts, outputs and timings, every output the ledger names is looked up in its
sink (object in the processed/failed bucket, item in the metadata table), and
the totals are counted in the sinks themselves (rows in PostgreSQL, items in
the records table, objects in the buckets) and in the queues (DLQ depth).

The sample set and the local stack print through :func:`say` and
:func:`print_table` here, and read queues with :func:`queue_depth`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ferry_dev.uploads import DEAD, TERMINAL, Upload, resolve

if TYPE_CHECKING:
    from ferry_dev.services import PostgresServer

LOADED_KEYS = ("rows_loaded", "records_loaded", "documents", "items_written")
REJECT_KEYS = ("rows_rejected", "records_invalid")


class StackView(Protocol):
    """What the report and the sample set need of a stack (``ferry_dev.local.Stack``)."""

    @property
    def outputs(self) -> dict[str, Any]: ...

    def client(self, service: str) -> Any: ...

    def postgres(self) -> PostgresServer: ...


def say(message: str) -> None:
    print(message, flush=True)


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    say("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    say(line)
    for row in rows:
        say("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def queue_depth(sqs: Any, url: str) -> tuple[int, int]:
    """(waiting, in flight) messages of an SQS queue."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    d = TypeDeserializer()
    return {k: d.deserialize(v) for k, v in item.items()}


def ledger_items(stack: StackView, ledger_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Consistent reads of the given ledger records (missing ids are absent)."""
    ddb = stack.client("dynamodb")
    table = stack.outputs["table_names"]["ledger"]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ledger_ids), 100):
        keys = [{"ledger_id": {"S": i}} for i in ledger_ids[start : start + 100]]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            r = ddb.batch_get_item(RequestItems=request)
            for raw in r["Responses"].get(table, []):
                item = _deserialize(raw)
                found[item["ledger_id"]] = item
            request = r.get("UnprocessedKeys") or {}
    return found


def all_ledger_items(stack: StackView) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    table = stack.outputs["table_names"]["ledger"]
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(_deserialize(i) for i in page["Items"])
    return sorted(items, key=lambda i: str(i.get("first_seen_at", "")))


def loaded_count(item: dict[str, Any]) -> int:
    counts = item.get("counts") or {}
    for key in LOADED_KEYS:
        if key in counts:
            return int(counts[key])
    return 1 if item.get("status") == "loaded" else 0


def reject_count(item: dict[str, Any]) -> int:
    counts = item.get("counts") or {}
    return sum(int(counts.get(k, 0)) for k in REJECT_KEYS)


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def latency_seconds(item: dict[str, Any]) -> float | None:
    """From the S3 event time (the upload) to the ledger's finish time."""
    start = _parse_time(item.get("event_time")) or _parse_time(item.get("first_seen_at"))
    end = _parse_time(item.get("finished_at"))
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


_S3_URI = re.compile(r"^s3://([^/]+)/(.+)$")
_DDB_ITEM = re.compile(r"^dynamodb:([^/]+)/(.+)$")


def verify_output(stack: StackView, uri: str) -> bool | None:
    """Whether the sink holds what the ledger says was written (None: not checkable per file)."""
    from botocore.exceptions import ClientError

    if m := _S3_URI.match(uri):
        try:
            stack.client("s3").head_object(Bucket=m.group(1), Key=m.group(2))
            return True
        except ClientError:
            return False
    if m := _DDB_ITEM.match(uri):
        table = m.group(1)
        key_name = stack.client("dynamodb").describe_table(TableName=table)["Table"]["KeySchema"][
            0
        ]["AttributeName"]
        got = stack.client("dynamodb").get_item(
            TableName=table, Key={key_name: {"S": m.group(2)}}, ConsistentRead=True
        )
        return "Item" in got
    return None


def postgres_load(stack: StackView, item: dict[str, Any]) -> int | None:
    """Rows ferry.loads records for this object (the loader's own bookkeeping), or None."""
    import psycopg

    with psycopg.connect(stack.postgres().dsn(tcp=False), autocommit=True) as conn:
        row = conn.execute(
            "SELECT rows_loaded FROM ferry.loads WHERE bucket = %s AND key = %s"
            " ORDER BY loaded_at DESC LIMIT 1",
            (item.get("bucket"), item.get("key")),
        ).fetchone()
    return int(row[0]) if row else None


def postgres_tables(items: list[dict[str, Any]]) -> set[str]:
    """Tables the ledger says CSV files were loaded into (outputs like postgresql:schema.table)."""
    tables = set()
    for item in items:
        for out in item.get("outputs") or []:
            m = re.match(
                r"^(?:postgres|postgresql|pg)(?::|://[^/]*/)(?:[^/]*/)?([a-z_][a-z0-9_.]*)$",
                str(out),
            )
            if m:
                tables.add(m.group(1))
    return tables


def count_postgres_rows(stack: StackView, tables: set[str]) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    counts: dict[str, int] = {}
    if not tables:
        return counts
    with psycopg.connect(stack.postgres().dsn(tcp=False), autocommit=True) as conn:
        for table in sorted(tables):
            ident = sql.Identifier(*table.split("."))
            counts[table] = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(ident)
            ).fetchone()[0]
    return counts


def count_items(stack: StackView, table: str) -> int:
    total = 0
    for page in (
        stack.client("dynamodb").get_paginator("scan").paginate(TableName=table, Select="COUNT")
    ):
        total += page["Count"]
    return total


def count_objects(stack: StackView, bucket: str) -> int:
    total = 0
    for page in stack.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
        total += page.get("KeyCount", 0)
    return total


@dataclass
class Totals:
    """Counts from the ledger (files, rows) and from the sinks and queues themselves."""

    files: int
    by_status: dict[str, int]
    unfinished: int
    loaded: int
    rejects: int
    latency_median: float | None
    latency_max: float | None
    postgres_rows: dict[str, int]
    records_items: int
    metadata_items: int
    processed_objects: int
    failed_objects: int
    queue_waiting: int
    queue_in_flight: int
    dlq_messages: int


def totals(stack: StackView, items: list[dict[str, Any]]) -> Totals:
    statuses = [str(i.get("status", "missing")) for i in items]
    by_status = {s: statuses.count(s) for s in set(statuses)}
    latencies = sorted(x for x in (latency_seconds(i) for i in items) if x is not None)
    sqs = stack.client("sqs")
    dlq_waiting, dlq_hidden = queue_depth(sqs, stack.outputs["dlq_url"])
    q_waiting, q_hidden = queue_depth(sqs, stack.outputs["queue_url"])
    names = stack.outputs["table_names"]
    buckets = stack.outputs["bucket_names"]
    return Totals(
        files=len(items),
        by_status=by_status,
        unfinished=sum(1 for s in statuses if s not in TERMINAL),
        loaded=sum(loaded_count(i) for i in items if i.get("status") == "loaded"),
        rejects=sum(reject_count(i) for i in items),
        latency_median=latencies[len(latencies) // 2] if latencies else None,
        latency_max=latencies[-1] if latencies else None,
        postgres_rows=count_postgres_rows(stack, postgres_tables(all_ledger_items(stack))),
        records_items=count_items(stack, names["records"]),
        metadata_items=count_items(stack, names["metadata"]),
        processed_objects=count_objects(stack, buckets["processed"]),
        failed_objects=count_objects(stack, buckets["failed"]),
        queue_waiting=q_waiting,
        queue_in_flight=q_hidden,
        dlq_messages=dlq_waiting + dlq_hidden,
    )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def print_summary(
    stack: StackView,
    *,
    uploads: list[Upload] | None = None,
    items: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Print the table; return the problems found (expectations not met, outputs missing)."""
    problems: list[str] = []
    if uploads is None:
        rows_items = [(None, i) for i in all_ledger_items(stack)]
    else:
        if items is None:
            items = ledger_items(stack, [c for u in uploads for c in u.candidates])
        rows_items = [(u, resolve(items, u) or {"ledger_id": u.ledger_id}) for u in uploads]

    rows = []
    for upload, item in rows_items:
        status = item.get("status", "missing")
        outputs = [str(o) for o in item.get("outputs") or []]
        checks = [verify_output(stack, o) for o in outputs]
        if status == "loaded" and any(o.startswith("postgresql:") for o in outputs):
            checks.append(postgres_load(stack, item) == loaded_count(item))
        if any(c is False for c in checks):
            problems.append(
                f"{item['ledger_id']}: an output the ledger names is missing from its sink"
            )
        lat = latency_seconds(item)
        expected = ""
        if upload is not None:
            s = upload.sample
            ok = status == s.expect_status
            if ok and s.expect_loaded is not None and status == "loaded":
                ok = loaded_count(item) == s.expect_loaded
            if ok and s.expect_rejects is not None and status == "loaded":
                ok = reject_count(item) == s.expect_rejects
            expected = "as expected" if ok else f"EXPECTED {s.expect_status}"
            if not ok:
                problems.append(f"{s.name} ({s.key}): {status}, expected {s.expect_status}")
        key = str(item.get("key") or item["ledger_id"])
        rows.append(
            (
                upload.sample.name if upload else "",
                _short(key, 48),
                status if status not in DEAD else "dead-lettered",
                str(loaded_count(item)) if status != "missing" else "-",
                str(reject_count(item)) if status != "missing" else "-",
                _short(outputs[-1], 60) if outputs else _short(str(item.get("reason") or "-"), 60),
                f"{lat:.2f}s" if lat is not None else "-",
                expected,
            )
        )
    print_table(
        rows,
        ("sample", "key", "status", "loaded", "rejects", "output (or reason)", "latency", "check"),
    )

    # Totals from the ledger, then from the sinks and queues themselves.
    t = totals(stack, [i for _, i in rows_items])
    say("")
    say(
        f"files: {t.files}  loaded {t.by_status.get('loaded', 0)}"
        f"  rejected {t.by_status.get('rejected', 0)}"
        f"  dead-lettered {sum(t.by_status.get(d, 0) for d in DEAD)}  not finished {t.unfinished}"
    )
    latency = (
        f"; latency median {t.latency_median:.2f}s, max {t.latency_max:.2f}s"
        if t.latency_max is not None
        else ""
    )
    say(f"loaded: {t.loaded} rows/records/documents, rejected rows/records: {t.rejects}{latency}")
    sinks = [f"PostgreSQL {name} {n} rows" for name, n in t.postgres_rows.items()]
    sinks += [
        f"records table {t.records_items} items",
        f"metadata table {t.metadata_items} items",
        f"processed bucket {t.processed_objects} objects",
        f"failed bucket {t.failed_objects} objects",
    ]
    say("sinks: " + ", ".join(sinks))
    say(
        f"queues: ingest {t.queue_waiting} waiting / {t.queue_in_flight} in flight;"
        f" DLQ {t.dlq_messages} messages"
    )
    if problems:
        say("\nPROBLEMS:")
        for p in problems:
            say(f"  {p}")
    return problems
