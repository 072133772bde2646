"""Rejected files: the original and an ``.error.json`` sidecar in the failed bucket.

The original is copied server side from its exact version to the same key in
the failed bucket (no encryption parameters: the failed bucket's default
SSE-KMS key applies). Next to it, ``<key>.error.json`` says why. Nothing is
deleted from the raw bucket here (see ``delete_raw`` in the configuration).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

from ferry.aws import S3, ObjectGone
from ferry.model import ObjectRef, Outcome

SIDECAR_SUFFIX = ".error.json"
REPORT_SUFFIX = ".invalid-records.json"


def sidecar_document(
    ref: ObjectRef, outcome: Outcome, *, route: str | None, when: dt.datetime
) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "reason": outcome.reason,
        "details": outcome.details,
        "processor": outcome.processor,
        "route": route,
        "ledger_id": ref.ledger_id,
        "source": {
            "bucket": ref.bucket,
            "key": ref.key,
            "version_id": ref.version_id,
            "etag": ref.etag,
            "size": ref.size,
        },
        "counts": outcome.counts,
        "rejected_at": when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def to_json_bytes(document: Any) -> bytes:
    return json.dumps(document, indent=2, default=str, ensure_ascii=False).encode("utf-8")


def quarantine(
    s3: S3,
    ref: ObjectRef,
    outcome: Outcome,
    *,
    failed_bucket: str,
    route: str | None,
    when: dt.datetime,
) -> list[str]:
    """Copy the original and write the sidecar; returns the s3:// URIs written."""
    outputs: list[str] = []
    # A version that is gone cannot be copied; the sidecar still records the rejection.
    with contextlib.suppress(ObjectGone):
        outputs.append(s3.copy(ref, failed_bucket, ref.key, size=ref.size))
    document = sidecar_document(ref, outcome, route=route, when=when)
    outputs.append(
        s3.put(
            failed_bucket,
            ref.key + SIDECAR_SUFFIX,
            to_json_bytes(document),
            metadata={"ferry-ledger-id": _ascii(ref.ledger_id)},
        )
    )
    return outputs


def _ascii(value: str) -> str:
    """S3 user metadata must be ASCII: keep it readable, escape the rest."""
    return value.encode("ascii", "backslashreplace").decode("ascii")[:1024]
