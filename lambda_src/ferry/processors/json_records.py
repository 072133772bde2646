"""``json_records``: JSON records -> DynamoDB records table (BatchWriteItem).

Input: a JSON array of records, an object ``{"records": [...]}``, or JSON Lines
(``format`` = ``auto`` | ``array`` | ``lines``; ``auto`` picks lines for
``.jsonl``/``.ndjson`` keys and for documents that do not start with ``[`` or
with a ``{`` holding the whole document). The object is streamed
(:mod:`ferry.jsonstream`): memory stays flat whatever its size, up to
``limits.max_stream_bytes``. Every record is validated against the route's
``schema`` (Draft 2020-12).

Item keys are the route's ``key`` fields (default ``device_id`` + ``timestamp``):
the table's partition and sort key, so a redelivered file overwrites its items
instead of duplicating them. Two records with the same key in one file: the
last one wins (reported as ``duplicates``): items are written in file order, and
within one BatchWriteItem call (which refuses a key twice) the later record
replaces the earlier. Records DynamoDB cannot store, checked as DynamoDB checks
them with the attributes ferry adds (:mod:`ferry.itemcheck`), are invalid
records like schema violations, so they never fail a batch; should DynamoDB
still refuse a batch, its items are written one by one and the refused ones
are reported as invalid.

Two passes: the first reads and checks every record without writing; the
second reads the object again and writes the valid records. So a file is
rejected as a whole, and nothing from it is written, when it holds no records,
when every record is invalid, or when the share of invalid records exceeds the
route's ``max_invalid_fraction`` (default 0: any invalid record rejects the
file). Otherwise the valid records are loaded, the file's outcome is ``loaded``
with ``records_invalid`` counted, and the invalid records (index or line, JSON
path, message) are written as a report to ``<key>.invalid-records.json`` in
the failed bucket.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ferry.aws import DynamoDB
from ferry.itemcheck import ItemProblem, check_item
from ferry.jsondoc import JsonProblem, validator, violations
from ferry.jsonstream import records as stream_records
from ferry.model import ObjectRef, Outcome
from ferry.processors.base import BaseProcessor
from ferry.rejects import REPORT_SUFFIX, to_json_bytes
from ferry.runtime import Runtime

DEFAULT_KEY = ("device_id", "timestamp")
#: Invalid records listed in the report (all are counted).
MAX_REPORTED_INVALID = 10_000
#: Longest record, in characters (a DynamoDB item is at most 400 KB).
MAX_RECORD_CHARS = 1 << 20


def _key_value(value: Any) -> str | Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def dynamodb_problem(record: dict[str, Any], key: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(JSON path, message) when DynamoDB cannot store ``record`` as it is, else None."""
    try:
        check_item(record, key)
    except ItemProblem as problem:
        return problem.path, problem.message
    return None


class KeyFilter:
    """Which item keys may repeat in a file, in bounded memory (a Bloom filter).

    Pass 1 adds every valid record's key; a key whose bits are all set already is
    a *candidate* (a repeat, or rarely a false positive) and is kept exactly. Pass 2
    counts the candidates' occurrences, so ``duplicates`` is exact while memory is
    the filter (at most 16 MiB) plus the candidates.
    """

    MAX_BITS = 1 << 27  # 16 MiB
    HASHES = 3

    def __init__(self, object_bytes: int) -> None:
        wanted = 16 * max(1, object_bytes // 100)  # 16 bits per record of >= 100 bytes
        self.bits = 1 << 16
        while self.bits < min(wanted, self.MAX_BITS):
            self.bits <<= 1
        self._array = bytearray(self.bits // 8)
        self.candidates: dict[tuple[Any, ...], int] = {}

    def _slots(self, key: tuple[Any, ...]) -> list[int]:
        data = repr(key).encode("utf-8", "surrogatepass")
        digest = hashlib.blake2b(data, digest_size=4 * self.HASHES).digest()
        mask = self.bits - 1
        return [
            int.from_bytes(digest[i : i + 4], "little") & mask for i in range(0, len(digest), 4)
        ]

    def add(self, key: tuple[Any, ...]) -> None:
        array = self._array
        seen = True
        for slot in self._slots(key):
            byte, bit = slot >> 3, 1 << (slot & 7)
            if not array[byte] & bit:
                seen = False
                array[byte] |= bit
        if seen:
            self.candidates[key] = 0

    def count(self, key: tuple[Any, ...]) -> None:
        """Pass 2: one more occurrence of ``key`` (only candidates are counted)."""
        if key in self.candidates:
            self.candidates[key] += 1

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.candidates.values() if n > 1)


class JsonRecordsProcessor(BaseProcessor):
    name = "json_records"

    def _records(self, ref: ObjectRef, ctx: Runtime) -> Iterator[tuple[str, Any]]:
        """(location, record or JsonProblem); a location is ``[index]`` or ``line N``."""
        fmt = ctx.route.get("format", "auto")
        if fmt == "auto" and ref.key.lower().endswith((".jsonl", ".ndjson")):
            fmt = "lines"
        body, _length = ctx.s3.stream(ref)
        try:
            yield from stream_records(
                body.read,
                fmt=fmt,
                max_depth=ctx.limits.max_json_depth,
                max_record_chars=MAX_RECORD_CHARS,
            )
        finally:
            body.close()

    def run(self, ref: ObjectRef, ctx: Runtime) -> Outcome:
        limits = ctx.limits
        size = ref.size if ref.size is not None else ctx.s3.head(ref).size
        if size > limits.max_stream_bytes:
            return self.rejected(
                f"file too large: object is {size} bytes, the limit is {limits.max_stream_bytes}"
            )
        schema_name = ctx.route.get("schema")
        compiled = validator(schema_name, ctx.config.schemas[schema_name])
        key_fields = tuple(ctx.route.get("key", DEFAULT_KEY))
        ingested_at = ctx.now().isoformat(timespec="seconds").replace("+00:00", "Z")
        # Lineage: the source object version (its ledger id) and the record's index in it.
        added = {"ingested_from": ctx.ledger_id, "ingested_at": ingested_at}
        widest = {**added, "ingested_record": limits.max_records}  # for the 400 KB check

        def problem_of(record: Any) -> list[tuple[str, str]]:
            """(path, message) pairs that make ``record`` invalid (empty: it is valid)."""
            found = violations(compiled, record)
            if found:
                return [(v.path, v.message) for v in found]
            if not isinstance(record, dict):
                return [("$", "not a JSON object")]
            for field in key_fields:
                if _key_value(record.get(field)) is None:
                    message = f"key field {field!r} must be a non-empty string or number"
                    return [(f"$.{field}", message)]
            problem = dynamodb_problem({**record, **widest}, key_fields)
            return [problem] if problem else []

        # Pass 1: check everything, write nothing.
        total = invalid_records = 0
        invalid: list[dict[str, Any]] = []
        bad = bytearray()  # one bit per record index: invalid
        keys = KeyFilter(size)
        try:
            for index, (location, record) in enumerate(self._records(ref, ctx)):
                total += 1
                if total > limits.max_records:
                    return self.rejected(f"more than {limits.max_records} records, the limit")
                if isinstance(record, JsonProblem):
                    found = [("$", record.reason)]
                else:
                    found = problem_of(record)
                if found:
                    invalid_records += 1
                    _set_bit(bad, index)
                    for path, message in found:
                        if len(invalid) < MAX_REPORTED_INVALID:
                            invalid.append({"record": location, "path": path, "message": message})
                    continue
                keys.add(tuple(_key_value(record.get(f)) for f in key_fields))
        except JsonProblem as problem:
            return self.rejected(problem.reason, details=problem.details)
        if not total:
            return self.rejected("file holds no records")

        counts = {"records_total": total, "records_invalid": invalid_records, "records_loaded": 0}
        shown = invalid[: limits.max_reported_errors]
        threshold = float(ctx.route.get("max_invalid_fraction", 0))
        first = _first_problem(invalid)
        if invalid_records == total:
            return self.rejected(
                (f"all {total} records are invalid" if total > 1 else "the record is invalid")
                + first,
                counts=counts,
                details=shown,
            )
        if invalid_records / total > threshold:
            return self.rejected(
                f"{invalid_records} of {total} records are invalid "
                f"({invalid_records / total:.1%}; the route allows {threshold:.1%})" + first,
                counts=counts,
                details=shown,
            )

        # Pass 2: read the object again and write the records pass 1 found valid.
        table = ctx.route.get("table") or ctx.settings.require("records_table")
        workers = limits.batch_write_workers
        # locations of the items not yet settled (a refusal names one of them)
        recent: deque[str] = deque(maxlen=2 * DynamoDB.window(workers))
        written = [0]

        def items() -> Iterator[dict[str, Any]]:
            for index, (location, record) in enumerate(self._records(ref, ctx)):
                if not _bit(bad, index):
                    keys.count(tuple(_key_value(record.get(f)) for f in key_fields))
                    recent.append(location)
                    written[0] += 1
                    yield {**record, **added, "ingested_record": index}

        refused: list[dict[str, Any]] = []

        def on_refused(position: int, message: str) -> None:
            back = position - written[0]  # a position among the items not yet settled
            # (a batch with many repeated keys can reach further back than the window)
            location = recent[back] if -len(recent) <= back < 0 else f"item {position + 1}"
            refused.append({"record": location, "path": "$", "message": message})

        try:
            ctx.dynamodb.batch_write(
                table,
                items(),
                key=key_fields,
                on_refused=on_refused,
                max_attempts=limits.batch_write_max_attempts,
                base_delay_ms=limits.batch_write_base_delay_ms,
                max_delay_ms=limits.batch_write_max_delay_ms,
                workers=workers,
            )
        except JsonProblem as problem:  # the object changed between the passes
            return self.rejected(problem.reason, details=problem.details)
        if refused:
            invalid.extend(refused[: max(0, MAX_REPORTED_INVALID - len(invalid))])
            counts["records_invalid"] += len({r["record"] for r in refused})
            shown = invalid[: limits.max_reported_errors]
        counts["duplicates"] = keys.duplicates
        counts["records_loaded"] = total - counts["records_invalid"] - keys.duplicates
        outputs = [f"dynamodb:{table}"]
        if invalid:
            report = {
                "ledger_id": ctx.ledger_id,
                "source": {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id},
                "counts": counts,
                "invalid": invalid,
                "truncated": counts["records_invalid"] > len({d["record"] for d in invalid}),
            }
            outputs.append(ctx.failed.write(ref, REPORT_SUFFIX, to_json_bytes(report)))
        return self.loaded(counts=counts, outputs=outputs, details=shown)


def _first_problem(invalid: list[dict[str, Any]]) -> str:
    """`` (first: record [3] $.temp: ...)``: where the first invalid record is and why."""
    if not invalid:
        return ""
    d = invalid[0]
    message = str(d["message"])
    if message.startswith(f"{d['record']}: ") or message.startswith(f"record {d['record']}: "):
        return f" (first: {message})"
    return f" (first: {d['record']} {d['path']}: {message})"


def _set_bit(bits: bytearray, index: int) -> None:
    byte = index >> 3
    if byte >= len(bits):
        bits.extend(bytes(byte + 1 - len(bits)))
    bits[byte] |= 1 << (index & 7)


def _bit(bits: bytearray, index: int) -> bool:
    byte = index >> 3
    return byte < len(bits) and bool(bits[byte] & (1 << (index & 7)))
