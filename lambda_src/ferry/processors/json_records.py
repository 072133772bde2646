"""``json_records``: JSON records -> DynamoDB records table (BatchWriteItem).

Input: a JSON array of records, an object ``{"records": [...]}``, or JSON Lines
(``format`` = ``auto`` | ``array`` | ``lines``; ``auto`` picks lines for
``.jsonl``/``.ndjson`` keys and for documents that do not start with ``[``).
Every record is validated against the route's ``schema`` (Draft 2020-12).

Item keys are the route's ``key`` fields (default ``device_id`` + ``timestamp``):
the table's partition and sort key, so a redelivered file overwrites its items
instead of duplicating them. Two records with the same key in one file: the
last one wins (reported as ``duplicates``), because BatchWriteItem refuses a
batch that names one key twice. Records DynamoDB cannot store (numbers beyond 38
digits or its range, nesting deeper than 32 levels, items over 400 KB) are
invalid records like schema violations, so they never fail a whole batch.

Partially invalid files: a file is rejected as a whole, and nothing from it is
written, when it holds no records, when every record is invalid, or when the
share of invalid records exceeds the route's ``max_invalid_fraction`` (default
0: any invalid record rejects the file). Otherwise the valid records are loaded,
the file's outcome is ``loaded`` with ``records_invalid`` counted, and the
invalid records (index or line, JSON path, message) are written as a report to
``<key>.invalid-records.json`` in the failed bucket.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ferry.jsondoc import (
    JsonProblem,
    decode_text,
    depth,
    iter_lines,
    loads,
    looks_like_lines,
    validator,
    violations,
)
from ferry.model import ObjectRef, Outcome
from ferry.processors.base import BaseProcessor
from ferry.rejects import REPORT_SUFFIX, to_json_bytes
from ferry.runtime import Runtime

DEFAULT_KEY = ("device_id", "timestamp")


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


# DynamoDB limits an item must respect (else BatchWriteItem fails the whole batch).
MAX_ITEM_BYTES = 400 * 1024
MAX_ITEM_DEPTH = 32
_NUMBER_DIGITS = 38
_NUMBER_EXPONENT = (-130, 125)


def dynamodb_problem(record: dict[str, Any]) -> tuple[str, str] | None:
    """(JSON path, message) when DynamoDB cannot store ``record`` as it is, else None."""
    if depth(record, MAX_ITEM_DEPTH) > MAX_ITEM_DEPTH:
        return "$", f"nested deeper than DynamoDB's {MAX_ITEM_DEPTH} levels"
    stack: list[tuple[str, Any]] = [("$", record)]
    size = 0
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                size += len(k.encode("utf-8"))
                stack.append((f"{path}.{k}", v))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
        elif isinstance(node, str):
            size += len(node.encode("utf-8", "surrogatepass"))
        elif isinstance(node, Decimal | int) and not isinstance(node, bool):
            number = Decimal(node)
            significant = "".join(map(str, number.as_tuple().digits)).strip("0")
            exponent = number.adjusted() if significant else 0
            if len(significant) > _NUMBER_DIGITS:
                return path, f"number has more than {_NUMBER_DIGITS} significant digits"
            if not _NUMBER_EXPONENT[0] <= exponent <= _NUMBER_EXPONENT[1]:
                return path, "number is outside DynamoDB's range (1E-130 to 9.9E+125)"
            size += 21
        else:
            size += 1
    if size > MAX_ITEM_BYTES:
        return "$", f"record is about {size} bytes, DynamoDB items are limited to 400 KB"
    return None


class JsonRecordsProcessor(BaseProcessor):
    name = "json_records"

    def _records(self, ref: ObjectRef, text: str, ctx: Runtime) -> list[tuple[str, Any]]:
        """(location, record) pairs; a location is ``[index]`` or ``line N``."""
        max_depth = ctx.limits.max_json_depth
        fmt = ctx.route.get("format", "auto")
        if fmt == "auto":
            lower = ref.key.lower()
            as_lines = lower.endswith((".jsonl", ".ndjson")) or looks_like_lines(text)
        else:
            as_lines = fmt == "lines"
        if as_lines:
            records: list[tuple[str, Any]] = []
            problems: list[dict[str, Any]] = []
            for line in iter_lines(text, max_depth=max_depth):
                if line.problem is not None:
                    problems.append({"line": line.number, "message": line.problem.reason})
                    records.append((f"line {line.number}", line.problem))
                else:
                    records.append((f"line {line.number}", line.value))
            return records
        document = loads(text, max_depth=max_depth)
        if isinstance(document, dict) and isinstance(document.get("records"), list):
            document = document["records"]
        if not isinstance(document, list):
            raise JsonProblem(
                f"expected a JSON array of records (or JSON Lines), got a JSON "
                f"{type(document).__name__}"
            )
        return [(f"[{index}]", record) for index, record in enumerate(document)]

    def run(self, ref: ObjectRef, ctx: Runtime) -> Outcome:
        limits = ctx.limits
        try:
            data = ctx.s3.read(ref, limits.max_object_bytes)
        except ValueError as err:
            return self.rejected(f"file too large: {err}")
        try:
            records = self._records(ref, decode_text(data), ctx)
        except JsonProblem as problem:
            return self.rejected(problem.reason, details=problem.details)
        if not records:
            return self.rejected("file holds no records")
        if len(records) > limits.max_records:
            return self.rejected(f"{len(records)} records, the limit is {limits.max_records}")

        schema_name = ctx.route.get("schema")
        compiled = validator(schema_name, ctx.config.schemas[schema_name])
        key_fields = tuple(ctx.route.get("key", DEFAULT_KEY))
        valid: dict[tuple[Any, ...], dict[str, Any]] = {}
        invalid: list[dict[str, Any]] = []
        duplicates = 0
        for location, record in records:
            if isinstance(record, JsonProblem):
                invalid.append({"record": location, "path": "$", "message": record.reason})
                continue
            found = violations(compiled, record)
            if found:
                invalid.extend(
                    {"record": location, "path": v.path, "message": v.message} for v in found
                )
                continue
            if not isinstance(record, dict):
                invalid.append({"record": location, "path": "$", "message": "not a JSON object"})
                continue
            key = tuple(_key_value(record.get(f)) for f in key_fields)
            if any(k is None for k in key):
                missing = [f for f, k in zip(key_fields, key, strict=True) if k is None]
                invalid.append(
                    {
                        "record": location,
                        "path": f"$.{missing[0]}",
                        "message": f"key field {missing[0]!r} must be a non-empty string or number",
                    }
                )
                continue
            problem = dynamodb_problem(record)
            if problem is not None:
                invalid.append({"record": location, "path": problem[0], "message": problem[1]})
                continue
            if key in valid:
                duplicates += 1
            valid[key] = record

        invalid_records = len({d["record"] for d in invalid})
        total = len(records)
        counts = {
            "records_total": total,
            "records_invalid": invalid_records,
            "records_loaded": 0,
            "duplicates": duplicates,
        }
        shown = invalid[: limits.max_reported_errors]
        threshold = float(ctx.route.get("max_invalid_fraction", 0))
        if not valid:
            return self.rejected(
                f"all {total} records are invalid" if total > 1 else "the record is invalid",
                counts=counts,
                details=shown,
            )
        if invalid_records / total > threshold:
            return self.rejected(
                f"{invalid_records} of {total} records are invalid "
                f"({invalid_records / total:.1%}; the route allows {threshold:.1%})",
                counts=counts,
                details=shown,
            )

        table = ctx.route.get("table") or ctx.settings.require("records_table")
        ingested_at = ctx.now().isoformat(timespec="seconds").replace("+00:00", "Z")
        items = (
            {**record, "ingested_from": ctx.ledger_id, "ingested_at": ingested_at}
            for record in valid.values()
        )
        counts["records_loaded"] = ctx.dynamodb.batch_write(
            table,
            items,
            max_attempts=limits.batch_write_max_attempts,
            base_delay_ms=limits.batch_write_base_delay_ms,
            max_delay_ms=limits.batch_write_max_delay_ms,
        )
        outputs = [f"dynamodb:{table}"]
        if invalid:
            report = {
                "ledger_id": ctx.ledger_id,
                "source": {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id},
                "counts": counts,
                "invalid": invalid,
            }
            outputs.append(ctx.failed.write(ref, REPORT_SUFFIX, to_json_bytes(report)))
        return self.loaded(counts=counts, outputs=outputs, details=shown)
