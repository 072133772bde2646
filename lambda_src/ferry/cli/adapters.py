"""The AWS edges of the ``ferry`` command: clients, S3 versions, SQS, the caller's identity.

Everything here goes through :func:`ferry.aws.translate_errors`, so a missing
permission, a wrong bucket or an unreachable endpoint reaches the command as a
one-line :class:`~ferry.model.Transient` / :class:`~ferry.aws.Refused` /
:class:`~ferry.aws.ObjectGone`, never as a botocore traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ferry.aws import Refused, translate_errors
from ferry.model import Transient

#: Error codes an endpoint answers for an action it does not implement.
UNSUPPORTED_CODES = frozenset(
    {"InvalidAction", "NotImplemented", "UnknownOperationException", "InvalidParameterValue"}
)
TERMINAL_TASK = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


@dataclass(slots=True)
class Clients:
    """boto3 clients made on first use: the usual credential chain, or the local stack."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    _made: dict[str, Any] = field(default_factory=dict)

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5)
            kwargs: dict[str, Any] = {"config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._made[service] = session.client(service, **kwargs)
        return self._made[service]


def caller(clients: Callable[[str], Any]) -> str:
    """Who is asking (the STS caller ARN), for the ledger's history; ``unknown`` if STS says no."""
    try:
        with translate_errors("GetCallerIdentity"):
            return str(clients("sts").get_caller_identity()["Arn"])
    except (Transient, Refused):
        return "unknown"


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    version_id: str
    is_latest: bool
    last_modified: str
    size: int


class Objects:
    """What the command reads in S3: versions of a key, an object's ferry metadata."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def versions(self, bucket: str, key: str) -> list[ObjectVersion]:
        """Every version of exactly ``key`` (newest first), ``null`` for an unversioned one."""
        found: list[ObjectVersion] = []
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
        while True:
            with translate_errors(f"ListObjectVersions s3://{bucket}/{key}"):
                r = self.s3.list_object_versions(**request)
            for v in r.get("Versions", []):
                if v.get("Key") == key:
                    found.append(
                        ObjectVersion(
                            str(v.get("VersionId") or "null"),
                            bool(v.get("IsLatest")),
                            str(v.get("LastModified", "")),
                            int(v.get("Size", 0)),
                        )
                    )
            if not r.get("IsTruncated"):
                return found
            request["KeyMarker"] = r.get("NextKeyMarker")
            request["VersionIdMarker"] = r.get("NextVersionIdMarker")
            if request["KeyMarker"] != key:  # past every version of this key
                return found

    def head(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
        """HeadObject: ``etag``, ``size``, ``version_id`` and user ``metadata``."""
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        with translate_errors(f"HeadObject s3://{bucket}/{key}"):
            r = self.s3.head_object(Bucket=bucket, Key=key, **extra)
        return {
            "etag": (r.get("ETag") or "").strip('"') or None,
            "size": int(r.get("ContentLength", 0)),
            "version_id": r.get("VersionId"),
            "metadata": dict(r.get("Metadata") or {}),
        }


@dataclass(frozen=True, slots=True)
class MoveProgress:
    status: str
    moved: int
    to_move: int | None
    failure: str | None = None


class Queues:
    """SQS for operators: send a message, queue depths, move the DLQ back to its queue."""

    def __init__(self, sqs: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.sqs = sqs
        self.sleep = sleep

    def send(self, queue_url: str, body: str) -> str:
        with translate_errors(f"SendMessage {queue_url}"):
            return str(self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])

    def arn(self, queue_url: str) -> str:
        with translate_errors(f"GetQueueAttributes {queue_url}"):
            r = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        return str(r["Attributes"]["QueueArn"])

    def depth(self, queue_url: str) -> tuple[int, int]:
        """(waiting, in flight) messages."""
        with translate_errors(f"GetQueueAttributes {queue_url}"):
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        return (
            int(attrs.get("ApproximateNumberOfMessages", 0)),
            int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )

    def start_move(self, dlq_arn: str, queue_arn: str, rate: int | None = None) -> str:
        """StartMessageMoveTask from the DLQ to the queue; returns the task handle.

        Raises :class:`Unsupported` when the endpoint does not implement the action.
        """
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {"SourceArn": dlq_arn, "DestinationArn": queue_arn}
        if rate:
            request["MaxNumberOfMessagesPerSecond"] = rate
        try:
            with translate_errors(f"StartMessageMoveTask {dlq_arn}"):
                try:
                    r = self.sqs.start_message_move_task(**request)
                except ClientError as err:
                    if _unsupported(err):
                        raise Unsupported(str(err)) from err
                    raise
        except Transient as err:  # an unimplemented action can come back as a 5xx
            if isinstance(err.__cause__, Exception) and _unsupported(err.__cause__):
                raise Unsupported(str(err)) from err
            raise
        return str(r.get("TaskHandle", ""))

    def move_progress(self, dlq_arn: str) -> MoveProgress | None:
        """The most recent move task of the DLQ (None if there is none)."""
        with translate_errors(f"ListMessageMoveTasks {dlq_arn}"):
            r = self.sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)
        results = r.get("Results") or []
        if not results:
            return None
        task = results[0]
        to_move = task.get("ApproximateNumberOfMessagesToMove")
        return MoveProgress(
            status=str(task.get("Status", "")),
            moved=int(task.get("ApproximateNumberOfMessagesMoved", 0)),
            to_move=int(to_move) if to_move is not None else None,
            failure=task.get("FailureReason"),
        )

    def wait_move(self, dlq_arn: str, interval: float = 2.0) -> Iterator[MoveProgress]:
        """Progress of the running move task until it ends (each poll yields once)."""
        while True:
            progress = self.move_progress(dlq_arn)
            if progress is None:
                return
            yield progress
            if progress.status in TERMINAL_TASK:
                return
            self.sleep(interval)

    def copy_move(self, dlq_url: str, queue_url: str, limit: int | None = None) -> Iterator[int]:
        """Move messages by hand (receive, send, delete), for endpoints without move tasks.

        Each message is sent to the queue before it is deleted from the DLQ: a
        failure in between leaves a duplicate (the ledger makes it harmless),
        never a loss. Yields the running count after each batch.
        """
        moved = 0
        empty = 0
        while empty < 2 and (limit is None or moved < limit):
            with translate_errors(f"ReceiveMessage {dlq_url}"):
                r = self.sqs.receive_message(
                    QueueUrl=dlq_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    MessageAttributeNames=["All"],
                )
            messages = r.get("Messages") or []
            if not messages:
                empty += 1
                continue
            empty = 0
            entries = []
            for i, m in enumerate(messages):
                entry: dict[str, Any] = {"Id": str(i), "MessageBody": m["Body"]}
                if m.get("MessageAttributes"):
                    entry["MessageAttributes"] = m["MessageAttributes"]
                entries.append(entry)
            with translate_errors(f"SendMessageBatch {queue_url}"):
                sent = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            ok = {e["Id"] for e in sent.get("Successful", [])}
            receipts = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if str(i) in ok
            ]
            if receipts:
                with translate_errors(f"DeleteMessageBatch {dlq_url}"):
                    self.sqs.delete_message_batch(QueueUrl=dlq_url, Entries=receipts)
            moved += len(receipts)
            if sent.get("Failed"):
                first = sent["Failed"][0]
                raise Transient(
                    f"SendMessageBatch {queue_url}: {len(sent['Failed'])} messages not sent "
                    f"({first.get('Code')}: {first.get('Message')}); they stay in the DLQ"
                )
            yield moved


class Unsupported(Exception):
    """The endpoint does not implement the action (an emulator)."""


def _unsupported(err: BaseException) -> bool:
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    message = str(response.get("Error", {}).get("Message", "")).lower()
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return (
        (code in UNSUPPORTED_CODES and ("action" in message or "not" in message))
        or status == 501
        # An emulator's HTML error page (AWS answers SQS errors in JSON or XML, never HTML).
        or (status == 500 and message.lstrip().startswith("<!doctype html"))
    )
