"""Adapters over S3 and DynamoDB: the only place processors touch AWS.

Clients are created lazily with botocore's standard retry mode and bounded
timeouts; boto3 picks up ``AWS_ENDPOINT_URL`` (the local stack and the tests
point it at a moto server). Errors are translated once, here, by AWS's error
code (:func:`classify`), using botocore's own lists for its standard retry mode:

* throttling codes, 5xx answers, botocore's transient codes (``RequestTimeout``,
  ``PriorRequestNotComplete``), timeouts and connection failures
  -> :class:`~ferry.model.Transient` (the message is retried by SQS, then dead-lettered);
* a missing object or version -> :class:`ObjectGone` (permanent: the file is rejected);
* answers that describe the deployment rather than the file (access denied,
  expired or unknown credentials, a KMS key that is disabled, a missing table or
  bucket) -> :class:`~ferry.model.Transient`: retrying is right once the
  deployment is fixed, and the DLQ and its alarm catch it meanwhile;
* every other 4xx answer (``ValidationException``, ``KeyTooLongError``,
  ``InvalidArgument``, ``EntityTooLarge``, ...), a request botocore refuses to
  send (parameter validation) and a header value the HTTP client refuses ->
  :class:`Refused`: permanent, the file is rejected with the service's message.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ferry.model import ObjectRef, Transient

_COPY_OBJECT_MAX = 5 * 1024**3  # CopyObject handles up to 5 GiB; beyond, a managed multipart copy


class ObjectGone(Exception):
    """The object (or this version of it) no longer exists: nothing to process."""


class Refused(Exception):
    """AWS refused the request for a reason a retry will not change (a 4xx answer).

    ``code`` is the service's error code (``ValidationException``, ``KeyTooLongError``)
    and the message is the service's own; the file that led to the request is rejected.
    """

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


# botocore's lists for its "standard" retry mode (botocore.retries.standard), read from
# botocore when it has them; the copies below are the lists of botocore 1.35.
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
#: 4xx answers about the deployment (credentials, permissions, keys, missing resources),
#: not about the file: retried until the deployment is fixed (the DLQ alarm meanwhile).
DEPLOYMENT_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "AuthorizationHeaderMalformed",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidToken",
        "MissingAuthenticationToken",
        "NoSuchBucket",
        "RequestExpired",
        "RequestTimeTooSkewed",
        "ResourceNotFoundException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "KMS.DisabledException",
        "KMS.KMSInvalidStateException",
        "KMS.NotFoundException",
        "KMS.AccessDeniedException",
        "DecryptionFailure",
        "DecryptionFailureException",
    }
)
_GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


def _botocore_lists() -> tuple[frozenset[str], frozenset[str], frozenset[int]]:
    try:
        from botocore.retries import standard
    except ImportError:  # pragma: no cover - botocore without the standard retry mode
        return _THROTTLING_CODES, _TRANSIENT_CODES, _TRANSIENT_STATUS
    throttled = getattr(standard.ThrottledRetryableChecker, "_THROTTLED_ERROR_CODES", ())
    transient = getattr(standard.TransientRetryableChecker, "_TRANSIENT_ERROR_CODES", ())
    status = getattr(standard.TransientRetryableChecker, "_TRANSIENT_STATUS_CODES", ())
    return (
        _THROTTLING_CODES | frozenset(throttled),
        _TRANSIENT_CODES | frozenset(transient),
        _TRANSIENT_STATUS | frozenset(status),
    )


def classify(code: str, status: int | None) -> str:
    """``"transient"``, ``"gone"``, ``"deployment"`` or ``"refused"`` for one AWS error answer."""
    throttled, transient, transient_status = _botocore_lists()
    if code in throttled or code in transient:
        return "transient"
    if code in _GONE_CODES:
        return "gone"
    if code in DEPLOYMENT_CODES or code.startswith("KMS."):
        return "deployment"
    if status is None or status >= 500 or status in transient_status or status < 400:
        return "transient"
    return "refused"


_LOADER: Any = None  # botocore's data loader, shared: service models are parsed once


def client(service: str) -> Any:
    """A boto3 client with standard retries and bounded timeouts (imports boto3 on first use).

    Each client gets a session of its own (credentials and settings as the
    environment has them then) but all share botocore's loader of the static
    service models and endpoint rules, so the second client does not parse them
    again (a cold start makes two: the ledger's and the object's).
    """
    import boto3
    import botocore.session
    from botocore.config import Config

    global _LOADER
    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)

    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        tcp_keepalive=True,
    )
    return boto3.session.Session(botocore_session=core).client(service, config=config)


def _error_code(err: BaseException) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _error_status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if isinstance(status, int) else None
    return None


def _error_message(err: BaseException) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message") or "")
        if message:
            return message
    return str(err)


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn botocore errors into Transient / ObjectGone with a one-line reason."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        HTTPClientError,
        ParamValidationError,
    )

    try:
        yield
    except ClientError as err:
        code = _error_code(err)
        kind = classify(code, _error_status(err))
        if kind == "gone":
            raise ObjectGone(f"{action}: {code}") from err
        if kind == "refused":
            raise Refused(f"{action}: {code}: {_error_message(err)}", code) from err
        raise Transient(f"{action}: {code or 'error'}: {err}") from err
    except ParamValidationError as err:  # botocore will not send this request as it is
        message = " ".join(str(err).split())
        raise Refused(f"{action}: {message}", "ParamValidationError") from err
    except HTTPClientError as err:
        # The HTTP client refusing a header value (a line break in metadata) is not a
        # network problem; everything else under HTTPClientError is.
        cause = err.kwargs.get("error")
        if isinstance(cause, ValueError) and "header" in str(cause).lower():
            raise Refused(f"{action}: {cause}", "InvalidHeader") from err
        raise Transient(f"{action}: {type(err).__name__}: {err}") from err
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


#: Longest user-metadata value ferry writes: two of them and their names stay within
#: S3's 2 KB of user-defined metadata per object.
MAX_METADATA_VALUE = 1000
MAX_KEY_BYTES = 1024  # S3's limit on an object key (UTF-8 bytes)
_HEADER_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - {"%"}


def ascii_metadata(value: str, limit: int = MAX_METADATA_VALUE) -> str:
    """A value S3 (and every HTTP client) accepts as user metadata, readable and reversible.

    S3 sends user metadata as HTTP headers: US-ASCII, no control characters, and
    leading or trailing spaces are lost. Everything outside printable ASCII (and
    ``%`` and the space) is percent-encoded as UTF-8 (``urllib.parse.unquote``
    reverses it); the value is cut to ``limit`` characters without splitting an escape.
    """
    out: list[str] = []
    length = 0
    for ch in value:
        piece = (
            ch
            if ch in _HEADER_SAFE
            else "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        )
        if length + len(piece) > limit:
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)


def full_jitter(attempt: int, base_ms: int, cap_ms: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): uniform in [0, min(cap, base * 2^n)]."""
    return random.uniform(0, min(cap_ms, base_ms * (2**attempt))) / 1000.0


def _serializer() -> Any:
    """boto3's TypeSerializer, for numbers DynamoDB stores but boto3's context refuses.

    boto3 converts numbers in a 38-digit context that traps rounding, so ``10**40``
    or ``1.000...0`` (more than 38 digits, but only zeros past the 38th) raise
    there, though DynamoDB keeps 38 *significant* digits and stores them exactly.
    Such numbers are written without their trailing zeros (``1E+40``): the same value.
    """
    from decimal import Context, Decimal

    from boto3.dynamodb.types import TypeSerializer

    wide = Context(prec=400)

    class Serializer(TypeSerializer):  # type: ignore[misc]
        def _serialize_n(self, value: Any) -> str:
            number = Decimal(value)
            if len(number.as_tuple().digits) > 38:
                number = number.normalize(wide)
            return str(super()._serialize_n(number))

    return Serializer()


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
            self._serializer = _serializer()
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
        key: Sequence[str] = (),
        on_refused: Callable[[int, str], None] | None = None,
        max_attempts: int = 8,
        base_delay_ms: int = 50,
        max_delay_ms: int = 5_000,
        workers: int = 1,
    ) -> int:
        """PutRequests in batches of 25; UnprocessedItems retried with full-jitter backoff.

        ``key`` names the table's key attributes: an item whose key is already in the
        batch being built replaces the earlier one (BatchWriteItem refuses a key twice;
        the later record wins, as it would across batches). ``on_refused(position,
        message)``: when DynamoDB refuses a batch (:class:`Refused`), its items are
        written one by one and each one refused is reported with its position in
        ``items``; without it the refusal is raised. ``on_refused`` is always called
        from the calling thread, at most :meth:`window` items after the position.

        ``workers`` > 1 sends up to ``workers`` batches at once (threads sharing the
        client, which is thread-safe); at most ``2 * workers`` batches are built
        ahead, so memory stays bounded. Items are put in file order within a key:
        a batch replaces a repeated key, and two batches in flight never hold the
        same key (a batch that would waits for the earlier one).

        Returns the number of items written. Raises :class:`Transient` when a batch
        still has unprocessed items after ``max_attempts`` calls (the items written
        so far are idempotent overwrites, so retrying the whole file is safe).
        """
        backoff = (max_attempts, base_delay_ms, max_delay_ms)

        def settle(outcome: tuple[int, list[tuple[int, str]]]) -> int:
            done, refused = outcome
            for position, message in refused:
                assert on_refused is not None
                on_refused(position, message)
            return done

        if workers <= 1:
            return sum(
                settle(self._write_checked(table, batch, on_refused is not None, backoff))
                for batch, _keys in self._batches(items, key)
            )
        from concurrent.futures import ThreadPoolExecutor

        _ = self.client  # made here, once, not by several workers at a time
        written = 0
        in_flight: deque[tuple[Any, set[Any]]] = deque()
        with ThreadPoolExecutor(workers, thread_name_prefix="batch-write") as pool:
            try:
                for batch, keys in self._batches(items, key):
                    # never two batches in flight with one key: the later put must land last
                    while in_flight and (
                        len(in_flight) >= 2 * workers
                        or any(not keys.isdisjoint(k) for _, k in in_flight)
                    ):
                        written += settle(in_flight.popleft()[0].result())
                    future = pool.submit(
                        self._write_checked, table, batch, on_refused is not None, backoff
                    )
                    in_flight.append((future, keys))
                while in_flight:
                    written += settle(in_flight.popleft()[0].result())
            except BaseException:
                for future, _ in in_flight:
                    future.cancel()
                raise
        return written

    @staticmethod
    def window(workers: int) -> int:
        """Items built ahead of the last one settled, at most (sizes a caller's lookback)."""
        return 25 * (2 * max(1, workers) + 1)

    def _batches(
        self, items: Iterable[Mapping[str, Any]], key: Sequence[str]
    ) -> Iterator[tuple[list[tuple[int, dict[str, Any]]], set[Any]]]:
        """Batches of at most 25 serialised PutRequests with distinct keys, and their keys."""
        batch: dict[Any, tuple[int, dict[str, Any]]] = {}
        for position, item in enumerate(items):
            item_key = tuple(repr(item.get(k)) for k in key) if key else position
            batch.pop(item_key, None)
            batch[item_key] = (position, {"PutRequest": {"Item": self.serialize(item)}})
            if len(batch) == 25:
                yield list(batch.values()), set(batch)
                batch = {}
        if batch:
            yield list(batch.values()), set(batch)

    def _write_checked(
        self,
        table: str,
        batch: list[tuple[int, dict[str, Any]]],
        find_refused: bool,
        backoff: tuple[int, int, int],
    ) -> tuple[int, list[tuple[int, str]]]:
        """(items written, (position, message) of each item DynamoDB refuses)."""
        try:
            return self._write_batch(table, [request for _, request in batch], *backoff), []
        except Refused:
            if not find_refused:
                raise
        written = 0
        refused: list[tuple[int, str]] = []
        for position, request in batch:  # find the item DynamoDB refuses; write the others
            try:
                with translate_errors(f"PutItem {table}"):
                    self.client.put_item(TableName=table, Item=request["PutRequest"]["Item"])
                written += 1
            except Refused as err:
                refused.append((position, str(err)))
        return written, refused

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
