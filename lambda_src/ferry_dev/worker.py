"""Lambda's SQS event source mapping, run locally against an emulator.

moto stores queues and redrives messages but cannot run Lambda code, so the
local stack and the end-to-end tests poll SQS themselves and call the real
handler in-process, with the semantics of an event source mapping that has
``ReportBatchItemFailures`` on:

* long-poll the queue for up to ``batch_size`` messages and hand them to the
  handler as one ``aws:sqs`` event, with a context whose
  ``get_remaining_time_in_millis`` counts down the function timeout;
* on success delete every message except those named in
  ``batchItemFailures``; a response that names an unknown or empty
  ``itemIdentifier``, an exception, or running past the function timeout
  fails the whole batch (nothing is deleted);
* failed messages are left alone: they reappear when the queue's visibility
  timeout ends, and after ``maxReceiveCount`` receives the queue's redrive
  policy moves them to the dead-letter queue (moto implements redrive on
  receive, as SQS does: see ``tests/test_worker.py``).

The dead-letter queue gets the same event source mapping, with the
dead-letter consumer ``ferry.deadletter.handler`` (as in AWS): a worker is
one function's execution environment, with that function's credentials.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("ferry.local.worker")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The parts of the Lambda context object a handler uses."""

    function_name: str
    timeout_seconds: float
    memory_limit_in_mb: int = 512
    region: str = "eu-west-1"
    account_id: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class EventSource:
    """Settings of one event source mapping (the ones Lambda has, with its defaults)."""

    queue_url: str
    queue_arn: str
    function_name: str = "ferry-local-processor"
    batch_size: int = 10
    function_timeout: float = 60.0
    wait_seconds: int = 2  # long poll; short so that a stop request is honoured quickly
    visibility_timeout: int | None = None  # None: the queue's own, as Lambda does
    region: str = "eu-west-1"
    account_id: str = "123456789012"

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10 for a standard queue")
        if not 0 <= self.wait_seconds <= 20:
            raise ValueError("wait_seconds must be between 0 and 20")


@dataclass
class BatchResult:
    """What one poll did."""

    received: list[str]  # message ids
    deleted: list[str]
    retried: list[str]
    error: str | None = None
    seconds: float = 0.0


def sqs_event(messages: list[dict[str, Any]], source: EventSource) -> dict[str, Any]:
    """The event Lambda builds from received SQS messages."""
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    k: attrs[k]
                    for k in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SenderId",
                        "ApproximateFirstReceiveTimestamp",
                    )
                    if k in attrs
                },
                "messageAttributes": {
                    name: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType"),
                    }
                    for name, v in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": source.region,
            }
        )
    return {"Records": records}


def failed_ids(response: Any, batch_ids: set[str]) -> set[str]:
    """Message ids to retry, from a handler response; the whole batch when it is malformed.

    Lambda's rules: ``None``, ``{}`` or an empty list mean success; any entry
    whose ``itemIdentifier`` is missing, empty or not in the batch fails the
    whole batch.
    """
    if response is None:
        return set()
    if not isinstance(response, Mapping):
        return set(batch_ids)
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return set(batch_ids)
    out: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(ident, str) or ident not in batch_ids:
            return set(batch_ids)
        out.add(ident)
    return out


class SqsEventSource:
    """Poll a queue and invoke ``handler`` the way an event source mapping does."""

    def __init__(self, sqs: Any, source: EventSource, handler: Handler) -> None:
        self.sqs = sqs
        self.source = source
        self.handler = handler
        self.invocations = 0

    def receive(self) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.source.queue_url,
            "MaxNumberOfMessages": self.source.batch_size,
            "WaitTimeSeconds": self.source.wait_seconds,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self.source.visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = self.source.visibility_timeout
        return self.sqs.receive_message(**kwargs).get("Messages", [])

    def invoke(self, messages: list[dict[str, Any]]) -> BatchResult:
        """Run the handler on received messages and delete what succeeded."""
        ids = [m["MessageId"] for m in messages]
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        context = LambdaContext(
            function_name=self.source.function_name,
            timeout_seconds=self.source.function_timeout,
            region=self.source.region,
            account_id=self.source.account_id,
        )
        started = time.monotonic()
        error: str | None = None
        self.invocations += 1
        try:
            response = self.handler(sqs_event(messages, self.source), context)
            retry = failed_ids(response, set(ids))
            if retry == set(ids) and not _names_all(response, ids):
                error = f"malformed batchItemFailures in response: {response!r:.200}"
        except Exception as err:  # a crash fails the whole batch, as in Lambda
            log.exception("handler raised; the whole batch of %d will be retried", len(ids))
            error = f"{type(err).__name__}: {err}"
            retry = set(ids)
        seconds = time.monotonic() - started
        if seconds > self.source.function_timeout and error is None:
            error = (
                f"timed out after {seconds:.1f}s (function timeout {self.source.function_timeout}s)"
            )
            retry = set(ids)
        done = [i for i in ids if i not in retry]
        self._delete({i: handles[i] for i in done})
        return BatchResult(
            received=ids,
            deleted=done,
            retried=[i for i in ids if i in retry],
            error=error,
            seconds=seconds,
        )

    def poll_once(self) -> BatchResult | None:
        messages = self.receive()
        if not messages:
            return None
        return self.invoke(messages)

    def run(
        self, stop: threading.Event, on_batch: Callable[[BatchResult], None] | None = None
    ) -> None:
        while not stop.is_set():
            try:
                result = self.poll_once()
            except Exception:
                log.exception("polling %s failed; retrying in 1s", self.source.queue_url)
                stop.wait(1.0)
                continue
            if result is not None:
                log.info(
                    "batch of %d: %d deleted, %d to retry%s (%.2fs)",
                    len(result.received),
                    len(result.deleted),
                    len(result.retried),
                    f", {result.error}" if result.error else "",
                    result.seconds,
                )
                if on_batch:
                    on_batch(result)

    def _delete(self, handles: dict[str, str]) -> None:
        items = list(handles.items())
        for start in range(0, len(items), 10):
            chunk = items[start : start + 10]
            resp = self.sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": h} for n, (_, h) in enumerate(chunk)],
            )
            for failure in resp.get("Failed", []):
                log.warning("could not delete message: %s", failure.get("Message"))


def _names_all(response: Any, ids: list[str]) -> bool:
    """True when the handler itself listed every message of the batch as failed."""
    items = response.get("batchItemFailures") if isinstance(response, Mapping) else None
    if not isinstance(items, list):
        return False
    named = {i.get("itemIdentifier") for i in items if isinstance(i, Mapping)}
    return named == set(ids)


def load_handler(spec: str) -> Handler:
    """``package.module.function`` → the function (Lambda's handler string)."""
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {spec!r} is not of the form module.function")
    return getattr(importlib.import_module(module_name), attr)


def _main(argv: list[str]) -> int:
    """Run one execution environment: a queue poller calling one handler."""
    parser = argparse.ArgumentParser(prog="python -m ferry_dev.worker", description=__doc__)
    parser.add_argument(
        "--config", required=True, type=Path, help="worker JSON written by ferry_dev.local"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )
    cfg = json.loads(args.config.read_text())
    os.environ.update(cfg["environment"])
    import boto3

    sqs = boto3.client("sqs", endpoint_url=cfg["environment"]["AWS_ENDPOINT_URL"])
    source = EventSource(**cfg["event_source"])
    handler = load_handler(cfg["handler"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("polling %s (batch %d) for %s", source.queue_url, source.batch_size, cfg["handler"])
    SqsEventSource(sqs, source, handler).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
