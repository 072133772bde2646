"""The failed bucket: the one writer of everything ferry puts there.

For a rejected file (:meth:`FailedBucket.quarantine`) the original is copied
server side from its exact version to the same key in the failed bucket, and
next to it ``<key>.error.json`` says why. A key plus suffix longer than S3's
1024 bytes is shortened with a hash (:func:`derived_key`); the documents hold
the full key, and metadata values are always valid header values
(:func:`ferry.aws.ascii_metadata`). Processors that load a file but skip
some of its rows or records write their report with :meth:`FailedBucket.write`
(``<key>.rejects.csv``, ``<key>.invalid-records.json``). Every object written
carries the ``ferry-ledger-id`` metadata and no encryption parameters (the
bucket's default SSE-KMS key applies). Nothing is deleted from the raw bucket
here (see ``delete_raw`` in the configuration).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from typing import Any

from ferry.aws import MAX_KEY_BYTES, S3, ObjectGone, ascii_metadata
from ferry.model import ObjectRef, Outcome
from ferry.settings import SettingsError

SIDECAR_SUFFIX = ".error.json"
REPORT_SUFFIX = ".invalid-records.json"
REJECTS_SUFFIX = ".rejects.csv"


def derived_key(key: str, suffix: str, limit: int = MAX_KEY_BYTES) -> str:
    """``key + suffix``, or, when that is longer than S3's 1024 bytes, a shortened key.

    The shortened form keeps the start of the key (cut on a character boundary),
    then ``~`` and 24 hex digits of the SHA-256 of the whole key, then the suffix:
    unique per key, stable across retries, always within ``limit`` bytes. The
    documents ferry writes there carry the full key.
    """
    whole = key + suffix
    if len(whole.encode("utf-8", "surrogatepass")) <= limit:
        return whole
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    tail = f"~{digest}{suffix}"
    room = limit - len(tail.encode("utf-8", "surrogatepass"))
    if room < 0:
        raise ValueError(f"suffix {suffix!r} leaves no room in a {limit}-byte key")
    head = key.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
    return head + tail


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
    """UTF-8 JSON.

    A lone surrogate from a hostile file is written as its escape, for example ``\\udc80``.
    """
    text = json.dumps(document, indent=2, default=str, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace")


class FailedBucket:
    """Writes rejected originals, sidecars and reject reports next to the raw key."""

    def __init__(self, s3: S3, bucket: str | None) -> None:
        self.s3 = s3
        self.bucket = bucket

    def _name(self) -> str:
        if not self.bucket:
            raise SettingsError("FERRY_FAILED_BUCKET is not set")
        return self.bucket

    def write(
        self,
        ref: ObjectRef,
        suffix: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        prefix: str = "",
    ) -> str:
        """Put ``<prefix><key><suffix>`` (shortened if too long: :func:`derived_key`); its URI."""
        return self.s3.put(
            self._name(),
            derived_key(prefix + ref.key, suffix),
            body,
            content_type=content_type,
            metadata={"ferry-ledger-id": ascii_metadata(ref.ledger_id)},
        )

    def quarantine(
        self,
        ref: ObjectRef,
        outcome: Outcome,
        *,
        route: str | None,
        when: dt.datetime,
        prefix: str = "",
    ) -> list[str]:
        """Copy the original and write the sidecar; returns the s3:// URIs written.

        ``prefix`` puts both under a folder of their own (the malware gate's ``quarantine/``).
        """
        bucket = self._name()
        outputs: list[str] = []
        target = derived_key(prefix + ref.key, "") if prefix else ref.key
        # A version that is gone cannot be copied; the sidecar still records the rejection.
        with contextlib.suppress(ObjectGone):
            outputs.append(self.s3.copy(ref, bucket, target, size=ref.size))
        document = sidecar_document(ref, outcome, route=route, when=when)
        outputs.append(self.write(ref, SIDECAR_SUFFIX, to_json_bytes(document), prefix=prefix))
        return outputs
