"""``json_transform``: one JSON document -> validated, enriched copy in the processed bucket.

The document must satisfy the route's ``schema``. It is written unchanged with
one added member, ``_ingestion`` (source bucket, key, version, etag, event time,
ingested_at, ledger id, route, schema), to a deterministic key in the processed
bucket: ``<output_prefix><key without .json>.<version id>.json`` (``null`` for an
unversioned object; shortened with a hash when longer than S3's 1024 bytes, the
full key being in ``_ingestion.source_key``). A redelivery overwrites the same
object; a new version of the source becomes a new output. Numbers are written
exactly as they were read (no float round trip).
"""

from __future__ import annotations

from ferry.aws import ascii_metadata
from ferry.jsondoc import JsonProblem, decode_text, dumps_exact, loads, validator, violations
from ferry.model import ObjectRef, Outcome
from ferry.processors.base import BaseProcessor
from ferry.rejects import derived_key
from ferry.runtime import Runtime


def output_key(ref: ObjectRef, prefix: str) -> str:
    """``<prefix><key without .json>.<version>.json``, shortened with a hash past 1024 bytes."""
    stem = ref.key[:-5] if ref.key.lower().endswith(".json") else ref.key
    version = (ref.version_id or "null").replace("/", "_")
    return derived_key(prefix + stem, f".{version}.json")


class JsonTransformProcessor(BaseProcessor):
    name = "json_transform"

    def run(self, ref: ObjectRef, ctx: Runtime) -> Outcome:
        limits = ctx.limits
        try:
            data = ctx.s3.read(ref, limits.max_object_bytes)
        except ValueError as err:
            return self.rejected(f"file too large: {err}")
        try:
            document = loads(decode_text(data), max_depth=limits.max_json_depth)
        except JsonProblem as problem:
            return self.rejected(problem.reason, details=problem.details)

        schema_name = ctx.route.get("schema")
        found = violations(
            validator(schema_name, ctx.config.schemas[schema_name]),
            document,
            limit=limits.max_reported_errors,
        )
        if found:
            first = found[0]
            return self.rejected(
                f"schema {schema_name!r}: {first.path}: {first.message}"
                + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""),
                details=[{"path": v.path, "message": v.message} for v in found],
            )
        if not isinstance(document, dict):
            return self.rejected(f"expected a JSON object, got a JSON {type(document).__name__}")

        enriched = {
            **document,
            "_ingestion": {
                "source_bucket": ref.bucket,
                "source_key": ref.key,
                "source_version_id": ref.version_id,
                "source_etag": ref.etag,
                "event_time": ref.event_time,
                "ingested_at": ctx.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
                "ledger_id": ctx.ledger_id,
                "route": ctx.route.name,
                "schema": schema_name,
            },
        }
        body = dumps_exact(enriched).encode("utf-8")
        bucket = ctx.settings.require("processed_bucket")
        key = output_key(ref, ctx.route.get("output_prefix", "processed/"))
        # Lineage: the source object version (``ferry status`` follows these back).
        metadata = {
            "ferry-source-key": ascii_metadata(ref.key),
            "ferry-source-bucket": ref.bucket,
            "ferry-source-version": ascii_metadata(ref.version_id or "null", 200),
        }
        uri = ctx.s3.put(bucket, key, body, metadata=metadata)
        return self.loaded(counts={"documents": 1, "bytes_written": len(body)}, outputs=[uri])
