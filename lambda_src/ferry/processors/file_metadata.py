"""``file_metadata``: any document -> one item in the DynamoDB metadata table.

Reads only the first ``limits.sniff_bytes`` bytes (a ranged GET) and sniffs the
type from magic bytes (:mod:`ferry.sniff`), not from the file name. The item::

    documentId   UUID 5 of the ledger id: deterministic per bucket/key/version
    fileName, key, bucket, versionId, extension, etag
    fileType     sniffed type (pdf, png, jpeg, ..., csv, text, binary, empty)
    contentType  MIME type for the sniffed type; declaredContentType from S3
    fileSize     bytes
    status       SUCCESS | FAILED (with reason)
    uploadedAt   the event time (when S3 created the object)
    processedAt, ledgerId

Files larger than the route's ``max_bytes``, of a type not in ``allowed_types``,
or empty are recorded as FAILED and rejected (copied to the failed bucket with
the reason) - their metadata item still exists, so producers see the result.
"""

from __future__ import annotations

import uuid
from typing import Any

from ferry.model import ObjectRef, Outcome
from ferry.processors.base import BaseProcessor
from ferry.runtime import Runtime
from ferry.sniff import MIME_TYPES, sniff


def document_id(ref: ObjectRef) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ref.ledger_id))


class FileMetadataProcessor(BaseProcessor):
    name = "file_metadata"

    def run(self, ref: ObjectRef, ctx: Runtime) -> Outcome:
        head = ctx.s3.head(ref)
        size = head.size
        head_bytes = ctx.s3.read_range(ref, 0, ctx.limits.sniff_bytes - 1) if size else b""
        kind = sniff(head_bytes, complete=len(head_bytes) >= size)

        allowed = ctx.route.get("allowed_types")
        max_bytes = int(ctx.route.get("max_bytes", ctx.limits.max_object_bytes))
        reason: str | None = None
        if size == 0:
            reason = "file is empty"
        elif size > max_bytes:
            reason = f"file is {size} bytes, the limit is {max_bytes}"
        elif allowed is not None and kind not in allowed:
            reason = f"file type {kind!r} is not allowed (allowed: {', '.join(allowed)})"

        name = ref.key.rsplit("/", 1)[-1]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        item: dict[str, Any] = {
            "documentId": document_id(ref),
            "fileName": name,
            "key": ref.key,
            "bucket": ref.bucket,
            "versionId": ref.version_id or "null",
            "extension": extension,
            "fileType": kind,
            "contentType": MIME_TYPES.get(kind, "application/octet-stream"),
            "fileSize": size,
            "status": "FAILED" if reason else "SUCCESS",
            "uploadedAt": ref.event_time or ctx.now().isoformat(timespec="seconds"),
            "processedAt": ctx.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
            "ledgerId": ctx.ledger_id,
        }
        if head.content_type:
            item["declaredContentType"] = head.content_type
        if ref.etag or head.etag:
            item["etag"] = ref.etag or head.etag
        if reason:
            item["reason"] = reason
        table = ctx.settings.require("metadata_table")
        ctx.dynamodb.put_item(table, item)

        counts = {"bytes": size}
        outputs = [f"dynamodb:{table}/{item['documentId']}"]
        if reason:
            return self.rejected(
                reason,
                counts=counts,
                outputs=outputs,
                details=[{"fileType": kind, "fileSize": size}],
            )
        return self.loaded(counts=counts, outputs=outputs)
