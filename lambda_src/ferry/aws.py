"""Adapters over S3 and DynamoDB: the only place processors touch AWS.

Clients are created lazily with botocore's standard retry mode and bounded
timeouts; boto3 picks up ``AWS_ENDPOINT_URL`` (the local stack and the tests
point it at a moto server). Errors are translated once, here:

* throttling, 5xx, timeouts and connection failures -> :class:`~ferry.model.Transient`
  (the message is retried by SQS, then dead-lettered);
* a missing object or version -> :class:`ObjectGone` (permanent: the file is rejected);
* anything else (access denied, a KMS key that is disabled, a missing table) is
  a deployment problem, also raised as :class:`Transient`: retrying is right once
  the deployment is fixed, and the DLQ and its alarm catch it meanwhile.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ferry.model import ObjectRef, Transient

_COPY_OBJECT_MAX = 5 * 1024**3  # CopyObject handles up to 5 GiB; beyond, a managed multipart copy


class ObjectGone(Exception):
    """The object (or this version of it) no longer exists: nothing to process."""


def client(service: str) -> Any:
    """A boto3 client with standard retries and bounded timeouts (imports boto3 on first use)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        tcp_keepalive=True,
    )
    return boto3.session.Session().client(service, config=config)


def _error_code(err: BaseException) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn botocore errors into Transient / ObjectGone with a one-line reason."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as err:
        code = _error_code(err)
        if code in {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}:
            raise ObjectGone(f"{action}: {code}") from err
        raise Transient(f"{action}: {code or 'error'}: {err}") from err
    except BotoCoreError as err:  # timeouts, connection errors, exhausted retries
        raise Transient(f"{action}: {type(err).__name__}: {err}") from err


@dataclass(slots=True)
class Head:
    size: int
    content_type: str | None
    etag: str | None
    version_id: str | None


class S3:
    """Streaming reads, ranged reads, puts and server-side copies."""

    def __init__(self, s3_client: Any = None) -> None:
        self._client = s3_client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("s3")
        return self._client

    @staticmethod
    def _version(ref: ObjectRef) -> dict[str, str]:
        return {"VersionId": ref.version_id} if ref.version_id else {}

    def head(self, ref: ObjectRef) -> Head:
        with translate_errors(f"HeadObject {ref}"):
            r = self.client.head_object(Bucket=ref.bucket, Key=ref.key, **self._version(ref))
        return Head(
            size=int(r.get("ContentLength", 0)),
            content_type=r.get("ContentType"),
            etag=(r.get("ETag") or "").strip('"') or None,
            version_id=r.get("VersionId"),
        )

    def stream(self, ref: ObjectRef) -> tuple[Any, int]:
        """A streaming body (``.read(n)``, ``.iter_chunks()``, ``.close()``) and its length."""
        with translate_errors(f"GetObject {ref}"):
            r = self.client.get_object(Bucket=ref.bucket, Key=ref.key, **self._version(ref))
        return r["Body"], int(r.get("ContentLength", 0))

    def read(self, ref: ObjectRef, max_bytes: int) -> bytes:
        """The whole object, refusing (ValueError) to read more than ``max_bytes``."""
        body, length = self.stream(ref)
        try:
            if length > max_bytes:
                raise ValueError(f"object is {length} bytes, the limit is {max_bytes}")
            with translate_errors(f"GetObject {ref}"):
                data = body.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ValueError(f"object is larger than the limit of {max_bytes} bytes")
            return data
        finally:
            body.close()

    def read_range(self, ref: ObjectRef, first: int, last: int) -> bytes:
        """Bytes ``first..last`` inclusive (fewer if the object is shorter; empty if empty)."""
        with translate_errors(f"GetObject {ref} range"):
            from botocore.exceptions import ClientError

            try:
                r = self.client.get_object(
                    Bucket=ref.bucket,
                    Key=ref.key,
                    Range=f"bytes={first}-{last}",
                    **self._version(ref),
                )
            except ClientError as err:
                if _error_code(err) == "InvalidRange":  # empty object
                    return b""
                raise
            try:
                return r["Body"].read()
            finally:
                r["Body"].close()

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str = "application/json",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write an object; the bucket's default encryption applies. Returns its s3:// URI."""
        with translate_errors(f"PutObject s3://{bucket}/{key}"):
            # An explicit checksum: writes into Object Lock buckets with default
            # retention (the processed and failed buckets can be) require one.
            self.client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata=dict(metadata or {}),
                ChecksumAlgorithm="SHA256",
            )
        return f"s3://{bucket}/{key}"

    def copy(self, ref: ObjectRef, bucket: str, key: str, size: int | None = None) -> str:
        """Server-side copy of this version; the target bucket's default encryption applies."""
        source: dict[str, str] = {"Bucket": ref.bucket, "Key": ref.key, **self._version(ref)}
        with translate_errors(f"CopyObject {ref} -> s3://{bucket}/{key}"):
            if size is not None and size > _COPY_OBJECT_MAX:
                self.client.copy(source, bucket, key)  # multipart, server side
            else:
                # The copy gets its own SHA-256 checksum, like every object ferry writes.
                self.client.copy_object(
                    CopySource=source,
                    Bucket=bucket,
                    Key=key,
                    MetadataDirective="COPY",
                    ChecksumAlgorithm="SHA256",
                )
        return f"s3://{bucket}/{key}"

    def delete(self, ref: ObjectRef) -> None:
        """Delete the current object (a delete marker in a versioned bucket; the version stays)."""
        with translate_errors(f"DeleteObject {ref}"):
            self.client.delete_object(Bucket=ref.bucket, Key=ref.key)


def ascii_metadata(value: str) -> str:
    """S3 user metadata must be ASCII: keep it readable, escape the rest."""
    return value.encode("ascii", "backslashreplace").decode("ascii")[:1024]


def full_jitter(attempt: int, base_ms: int, cap_ms: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): uniform in [0, min(cap, base * 2^n)]."""
    return random.uniform(0, min(cap_ms, base_ms * (2**attempt))) / 1000.0


class DynamoDB:
    """Typed item writes over the low-level client (numbers as ``Decimal``)."""

    def __init__(
        self,
        dynamodb_client: Any = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = dynamodb_client
        self._sleep = sleep
        self._serializer: Any = None
        self._deserializer: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def serialize(self, item: Mapping[str, Any]) -> dict[str, Any]:
        if self._serializer is None:
            from boto3.dynamodb.types import TypeSerializer

            self._serializer = TypeSerializer()
        return {k: self._serializer.serialize(v) for k, v in item.items()}

    def deserialize(self, item: Mapping[str, Any]) -> dict[str, Any]:
        if self._deserializer is None:
            from boto3.dynamodb.types import TypeDeserializer

            self._deserializer = TypeDeserializer()
        return {k: self._deserializer.deserialize(v) for k, v in item.items()}

    def put_item(self, table: str, item: Mapping[str, Any]) -> None:
        with translate_errors(f"PutItem {table}"):
            self.client.put_item(TableName=table, Item=self.serialize(item))

    def batch_write(
        self,
        table: str,
        items: Iterable[Mapping[str, Any]],
        *,
        max_attempts: int = 8,
        base_delay_ms: int = 50,
        max_delay_ms: int = 5_000,
    ) -> int:
        """PutRequests in batches of 25; UnprocessedItems retried with full-jitter backoff.

        Returns the number of items written. Raises :class:`Transient` when a batch
        still has unprocessed items after ``max_attempts`` calls (the items written
        so far are idempotent overwrites, so retrying the whole file is safe).
        """
        written = 0
        batch: list[dict[str, Any]] = []
        backoff = (max_attempts, base_delay_ms, max_delay_ms)
        for item in items:
            batch.append({"PutRequest": {"Item": self.serialize(item)}})
            if len(batch) == 25:
                written += self._write_batch(table, batch, *backoff)
                batch = []
        if batch:
            written += self._write_batch(table, batch, *backoff)
        return written

    def _write_batch(
        self,
        table: str,
        requests: Sequence[dict[str, Any]],
        max_attempts: int,
        base_delay_ms: int,
        max_delay_ms: int,
    ) -> int:
        pending: dict[str, Any] = {table: list(requests)}
        for attempt in range(max_attempts):
            if attempt:
                self._sleep(full_jitter(attempt - 1, base_delay_ms, max_delay_ms))
            with translate_errors(f"BatchWriteItem {table}"):
                r = self.client.batch_write_item(RequestItems=pending)
            pending = r.get("UnprocessedItems") or {}
            if not pending:
                return len(requests)
        left = sum(len(v) for v in pending.values())
        raise Transient(
            f"BatchWriteItem {table}: {left} of {len(requests)} items still unprocessed "
            f"after {max_attempts} attempts (throttled)"
        )
