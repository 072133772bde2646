"""Event shapes -> :class:`~ferry.model.ObjectRef` lists. Pure: no I/O, no AWS.

Recognised shapes (nested in any order the AWS services produce):

* S3 event notifications (``{"Records": [{"eventSource": "aws:s3", ...}]}``),
  delivered directly, as an SQS message body, or through SNS;
* SNS: a Lambda SNS event (``Records[].Sns.Message``), an SNS envelope in an SQS
  body (``{"Type": "Notification", "Message": "..."}``), or raw message delivery
  (the body *is* the S3 notification);
* EventBridge ``Object Created`` events from ``aws.s3``, directly or as an SQS body;
* GuardDuty Malware Protection for S3 ``GuardDuty Malware Protection Object Scan
  Result`` events from ``aws.guardduty`` (the malware gate, :mod:`ferry.gate`): the
  object ref carries ``scan_result`` and ``threats``;
* ``s3:TestEvent`` (sent when a notification is configured): acknowledged and ignored.

S3 notification keys are URL-encoded form values (``+`` is a space, ``%XX`` a
byte): they are decoded with :func:`urllib.parse.unquote_plus`. EventBridge keys
are not encoded that way and are kept literally.

Only ``ObjectCreated:*`` events are processed; other event types (deletes,
restores, lifecycle transitions, replication) are errors for that message:
the pipeline never subscribes to them, so receiving one is a misconfiguration
worth seeing in the ledger rather than a silent skip.

Errors are per SQS message: one unparseable message yields a
:class:`BadMessage` and does not affect the others in the batch. The handler
acknowledges bad messages (it does not return them as batch item failures) and
records each one in the ledger as ``failed`` with the reason and the start of the
body: a message that cannot be parsed now cannot be parsed on any retry, and
sending it round ``maxReceiveCount`` times only delays the same answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from ferry.model import ObjectRef

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_MAX_NESTING = 4  # SQS -> SNS -> S3 is three levels; more is not an AWS shape
_EXCERPT = 512


class IntakeError(ValueError):
    """This event (or SQS message) is not something ferry can turn into object refs."""


@dataclass(frozen=True, slots=True)
class BadMessage:
    """One message that could not be parsed, with the reason and the start of its body."""

    message_id: str | None
    source_arn: str | None
    reason: str
    excerpt: str

    @property
    def ledger_id(self) -> str:
        """Ledger id for the message itself (there is no object to key it on).

        ``sqs://<queue arn>#<message id>`` for SQS messages; for an event that came
        without SQS, ``event://<sha256 of its start>`` (stable across retries).
        """
        if self.message_id is None:
            import hashlib

            digest = hashlib.sha256(self.excerpt.encode("utf-8", "replace")).hexdigest()
            return f"event://{digest[:32]}"
        return f"sqs://{self.source_arn or 'unknown'}#{self.message_id}"


@dataclass(slots=True)
class Intake:
    refs: list[ObjectRef] = field(default_factory=list)
    bad: list[BadMessage] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # message ids of s3:TestEvent etc.


def object_refs(event: Any) -> Intake:
    """Every object version the event announces, plus the messages that made no sense."""
    result = Intake()
    if isinstance(event, dict) and _is_sqs_batch(event):
        for record in event["Records"]:
            message_id = record.get("messageId") if isinstance(record, dict) else None
            source_arn = record.get("eventSourceARN") if isinstance(record, dict) else None
            try:
                if not isinstance(record, dict) or not isinstance(record.get("body"), str):
                    raise IntakeError("SQS record has no string body")
                refs = list(_from_text(record["body"], message_id, depth=1))
            except IntakeError as err:
                body = record.get("body") if isinstance(record, dict) else record
                result.bad.append(BadMessage(message_id, source_arn, str(err), _excerpt(body)))
                continue
            if refs:
                result.refs.extend(refs)
            elif message_id:
                result.ignored.append(message_id)
        return result
    try:
        result.refs.extend(_from_payload(event, None, depth=0))
    except IntakeError as err:
        result.bad.append(BadMessage(None, None, str(err), _excerpt(event)))
    return result


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)[:_EXCERPT]
    return text[:_EXCERPT]


def _is_sqs_batch(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return isinstance(records, list) and bool(records) and all(_is_sqs_record(r) for r in records)


def _is_sqs_record(record: Any) -> bool:
    """An SQS record: ``eventSource`` says so, or (hand-built events) messageId and body."""
    if not isinstance(record, dict):
        return False
    return record.get("eventSource") == "aws:sqs" or (
        "eventSource" not in record and "messageId" in record and "body" in record
    )


def _from_text(text: str, message_id: str | None, depth: int) -> Iterator[ObjectRef]:
    try:
        payload = json.loads(text)
    except RecursionError:
        raise IntakeError("message body is nested too deeply to be an event") from None
    except ValueError as err:
        raise IntakeError(f"message body is not JSON ({err})") from None
    yield from _from_payload(payload, message_id, depth)


def _from_payload(payload: Any, message_id: str | None, depth: int) -> Iterator[ObjectRef]:
    if depth > _MAX_NESTING:
        raise IntakeError("event is wrapped more deeply than any AWS delivery path")
    if not isinstance(payload, dict):
        raise IntakeError(f"event is a JSON {type(payload).__name__}, not an object")

    if payload.get("Event") == "s3:TestEvent":
        return  # sent once when a notification is configured: nothing to do
    if payload.get("Type") == "Notification" and "Message" in payload:  # SNS envelope
        message = payload["Message"]
        if not isinstance(message, str):
            raise IntakeError("SNS notification Message is not a string")
        yield from _from_text(message, message_id, depth + 1)
        return
    if "detail-type" in payload and "source" in payload:  # EventBridge
        if payload.get("source") == "aws.guardduty":
            yield _from_scan_result(payload, message_id)
        else:
            yield _from_eventbridge(payload, message_id)
        return
    records = payload.get("Records")
    if isinstance(records, list):
        if not records:
            raise IntakeError("event has an empty Records list")
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise IntakeError(f"Records[{index}] is not an object")
            source = record.get("eventSource") or record.get("EventSource")
            if source == "aws:s3":
                yield _from_s3_record(record, index, message_id)
            elif source == "aws:sns":
                sns = record.get("Sns")
                if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
                    raise IntakeError(f"Records[{index}]: SNS record without a Message")
                yield from _from_text(sns["Message"], message_id, depth + 1)
            elif _is_sqs_record(record):
                body = record.get("body")
                if not isinstance(body, str):
                    raise IntakeError(f"Records[{index}]: SQS record without a body")
                mid = record.get("messageId") or message_id
                yield from _from_text(body, mid, depth + 1)
            else:
                raise IntakeError(f"Records[{index}]: unsupported event source {source!r}")
        return
    raise IntakeError(
        "not an S3, SNS, SQS or EventBridge event (keys: " + ", ".join(sorted(payload)[:8]) + ")"
    )


def _check_bucket(name: Any, where: str) -> str:
    if not isinstance(name, str) or not _BUCKET_NAME.match(name) or ".." in name:
        raise IntakeError(f"{where}: {name!r} is not a valid S3 bucket name")
    return name


def _optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IntakeError(f"{where}: size {value!r} is not a non-negative integer")
    return value


def _check_key(key: Any, where: str, limit: int = 1024) -> str:
    """A present key of at most ``limit`` bytes (S3's limit applies to the decoded key)."""
    if not isinstance(key, str) or not key:
        raise IntakeError(f"{where}: object key is missing")
    if len(key.encode("utf-8", "surrogatepass")) > limit:
        raise IntakeError(f"{where}: object key is longer than {limit} bytes")
    return key


def _from_s3_record(record: dict[str, Any], index: int, message_id: str | None) -> ObjectRef:
    where = f"Records[{index}]"
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
        raise IntakeError(f"{where}: S3 event {name!r} is not processed (only ObjectCreated:*)")
    s3 = record.get("s3")
    if not isinstance(s3, dict):
        raise IntakeError(f"{where}: S3 record without an s3 section")
    bucket = s3.get("bucket") or {}
    obj = s3.get("object") or {}
    if not isinstance(bucket, dict) or not isinstance(obj, dict):
        raise IntakeError(f"{where}: s3.bucket and s3.object must be objects")
    # URL-encoded, a 1024-byte key takes up to three times as many characters.
    raw_key = _check_key(obj.get("key"), where, limit=3 * 1024)
    try:
        key = unquote_plus(raw_key, errors="strict")
    except UnicodeDecodeError:
        raise IntakeError(f"{where}: object key {raw_key!r} decodes to invalid UTF-8") from None
    return ObjectRef(
        bucket=_check_bucket(bucket.get("name"), where),
        key=_check_key(key, where),
        version_id=_optional_str(obj.get("versionId")),
        size=_size(obj.get("size"), where),
        etag=_optional_str(obj.get("eTag")),
        sequencer=_optional_str(obj.get("sequencer")),
        event_time=_optional_str(record.get("eventTime")),
        message_id=message_id,
    )


def _from_eventbridge(event: dict[str, Any], message_id: str | None) -> ObjectRef:
    where = "EventBridge event"
    if event.get("source") != "aws.s3":
        raise IntakeError(f"{where}: source {event.get('source')!r} is not aws.s3")
    if event.get("detail-type") != "Object Created":
        raise IntakeError(
            f"{where}: {event.get('detail-type')!r} is not processed (only Object Created)"
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise IntakeError(f"{where}: no detail object")
    bucket = detail.get("bucket") or {}
    obj = detail.get("object") or {}
    if not isinstance(bucket, dict) or not isinstance(obj, dict):
        raise IntakeError(f"{where}: detail.bucket and detail.object must be objects")
    return ObjectRef(
        bucket=_check_bucket(bucket.get("name"), where),
        key=_check_key(obj.get("key"), where),  # EventBridge keys are not URL-encoded
        version_id=_optional_str(obj.get("version-id")),
        size=_size(obj.get("size"), where),
        etag=_optional_str(obj.get("etag")),
        sequencer=_optional_str(obj.get("sequencer")),
        event_time=_optional_str(event.get("time")),
        message_id=message_id,
    )


#: GuardDuty's detail-type for an S3 object scan result ("Monitoring S3 object scans
#: with Amazon EventBridge", https://docs.aws.amazon.com/guardduty/latest/ug/monitor-with-eventbridge-s3-malware-protection.html).
SCAN_RESULT_DETAIL_TYPE = "GuardDuty Malware Protection Object Scan Result"


def _from_scan_result(event: dict[str, Any], message_id: str | None) -> ObjectRef:
    """A GuardDuty Malware Protection for S3 scan result: the object and its verdict.

    ``detail.s3ObjectDetails`` names the object (bucketName, objectKey, versionId,
    eTag; the key is not URL-encoded); ``detail.scanResultDetails.scanResultStatus``
    is the verdict (NO_THREATS_FOUND, THREATS_FOUND, UNSUPPORTED, ACCESS_DENIED,
    FAILED) and ``threats`` lists ``{"name": ...}`` when threats were found. A
    result without a verdict is recorded as ``scanStatus`` (``SKIPPED``, ...), never
    as clean.
    """
    where = "GuardDuty scan result"
    if event.get("detail-type") != SCAN_RESULT_DETAIL_TYPE:
        raise IntakeError(f"{where}: {event.get('detail-type')!r} is not processed")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise IntakeError(f"{where}: no detail object")
    obj = detail.get("s3ObjectDetails")
    result = detail.get("scanResultDetails") or {}
    if not isinstance(obj, dict) or not isinstance(result, dict):
        raise IntakeError(f"{where}: detail.s3ObjectDetails must be an object")
    status = result.get("scanResultStatus") or detail.get("scanStatus") or "UNKNOWN"
    threats = result.get("threats") or []
    names = tuple(
        str(t.get("name"))[:200] for t in threats if isinstance(t, dict) and t.get("name")
    )[:20]
    return ObjectRef(
        bucket=_check_bucket(obj.get("bucketName"), where),
        key=_check_key(obj.get("objectKey"), where),
        version_id=_optional_str(obj.get("versionId")),
        etag=_optional_str(obj.get("eTag")),
        event_time=_optional_str(event.get("time")),
        message_id=message_id,
        scan_result=str(status)[:64],
        threats=names,
    )
