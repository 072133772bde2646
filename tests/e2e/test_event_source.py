"""The local SQS event source behaves like Lambda's: batches, partial batch
failures, visibility timeout, redrive to the dead-letter queue, and the DLQ
watcher. Runs against the moto server with a fake handler."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from ferry_dev.worker import (
    EventSource,
    LambdaContext,
    SqsEventSource,
    failed_ids,
    load_handler,
)

pytestmark = pytest.mark.moto


def _queues(sqs: Any, *, visibility: int = 30, max_receive: int = 3) -> tuple[str, str, str]:
    dlq_url = sqs.create_queue(QueueName="ferry-test-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="ferry-test",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq_url


def _depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


class Recorder:
    """A handler that records events and fails the bodies it is told to."""

    def __init__(self, fail: set[str] | None = None, *, raise_on: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.raise_on = raise_on or set()
        self.events: list[dict[str, Any]] = []
        self.remaining: list[int] = []

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        self.events.append(event)
        self.remaining.append(context.get_remaining_time_in_millis())
        bodies = {r["body"] for r in event["Records"]}
        if bodies & self.raise_on:
            raise RuntimeError("boom")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]}
                for r in event["Records"]
                if r["body"] in self.fail
            ]
        }


def test_batch_event_has_lambda_shape_and_successes_are_deleted(aws):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs)
    for n in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    handler = Recorder()
    source = SqsEventSource(
        sqs, EventSource(url, arn, batch_size=10, wait_seconds=1, function_timeout=30), handler
    )
    result = source.poll_once()
    assert result is not None
    assert len(result.received) == 7
    assert sorted(result.deleted) == sorted(result.received)
    record = handler.events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"messageId", "receiptHandle", "body", "md5OfBody", "awsRegion"} <= set(record)
    assert 29_000 < handler.remaining[0] <= 30_000
    assert _depth(sqs, url) == 0
    assert source.poll_once() is None


def test_batch_size_is_honoured(aws):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs)
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    handler = Recorder()
    source = SqsEventSource(sqs, EventSource(url, arn, batch_size=2, wait_seconds=0), handler)
    while source.poll_once() is not None:
        pass
    assert [len(e["Records"]) for e in handler.events] == [2, 2, 1]


def test_partial_failure_keeps_only_the_failed_messages(aws):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs, visibility=1)
    for body in ("ok-1", "bad", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    handler = Recorder(fail={"bad"})
    source = SqsEventSource(sqs, EventSource(url, arn, wait_seconds=0), handler)
    result = source.poll_once()
    assert result is not None
    assert len(result.deleted) == 2
    assert len(result.retried) == 1
    assert _depth(sqs, url) == 1
    # hidden until the visibility timeout ends, then delivered again
    assert source.poll_once() is None
    time.sleep(1.2)
    again = source.poll_once()
    assert again is not None
    assert [r["body"] for r in handler.events[-1]["Records"]] == ["bad"]
    assert handler.events[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_crash_fails_the_whole_batch(aws):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs)
    for body in ("ok", "explode"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    source = SqsEventSource(
        sqs, EventSource(url, arn, wait_seconds=0), Recorder(raise_on={"explode"})
    )
    result = source.poll_once()
    assert result is not None
    assert result.deleted == []
    assert len(result.retried) == 2
    assert result.error is not None
    assert "boom" in result.error
    assert _depth(sqs, url) == 2


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{}]},
        {"batchItemFailures": "everything"},
        "ok",
    ],
)
def test_malformed_response_fails_the_whole_batch(aws, response):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="one")
    source = SqsEventSource(sqs, EventSource(url, arn, wait_seconds=0), lambda e, c: response)
    result = source.poll_once()
    assert result is not None
    assert result.deleted == []
    assert result.error is not None
    assert "malformed" in result.error


def test_empty_responses_mean_success():
    ids = {"a", "b"}
    assert failed_ids(None, ids) == set()
    assert failed_ids({}, ids) == set()
    assert failed_ids({"batchItemFailures": []}, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ids) == {"a"}


def test_running_past_the_function_timeout_fails_the_batch(aws):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="slow")

    def slow(event: dict[str, Any], context: LambdaContext) -> None:
        time.sleep(0.3)
        assert context.get_remaining_time_in_millis() == 0

    source = SqsEventSource(sqs, EventSource(url, arn, wait_seconds=0, function_timeout=0.2), slow)
    result = source.poll_once()
    assert result is not None
    assert result.deleted == []
    assert result.error is not None
    assert "timed out" in result.error


def test_redrive_to_the_dlq_after_max_receive_count(aws):
    sqs = aws("sqs")
    url, arn, dlq_url = _queues(sqs, visibility=1, max_receive=2)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    handler = Recorder(fail={"poison"})
    source = SqsEventSource(sqs, EventSource(url, arn, wait_seconds=0), handler)
    deadline = time.monotonic() + 15
    while _depth(sqs, dlq_url) == 0 and time.monotonic() < deadline:
        source.poll_once()
        time.sleep(0.3)
    poison_deliveries = sum(
        1 for e in handler.events for r in e["Records"] if r["body"] == "poison"
    )
    assert poison_deliveries == 2  # maxReceiveCount, never more
    assert _depth(sqs, url) == 0
    assert _depth(sqs, dlq_url) == 1


def test_two_pollers_race_when_visibility_is_shorter_than_processing(aws):
    sqs = aws("sqs")
    url, arn, _ = _queues(sqs, visibility=1, max_receive=10)
    sqs.send_message(QueueUrl=url, MessageBody="slow")
    lock = threading.Lock()
    seen: list[str] = []

    def slow(event: dict[str, Any], context: LambdaContext) -> None:
        with lock:
            seen.extend(r["messageId"] for r in event["Records"])
        time.sleep(2.0)

    stop = threading.Event()
    pollers = [
        SqsEventSource(sqs, EventSource(url, arn, wait_seconds=1, function_timeout=10), slow)
        for _ in range(2)
    ]
    threads = [threading.Thread(target=p.run, args=(stop,)) for p in pollers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while _depth(sqs, url) and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert len(seen) >= 2
    assert len(set(seen)) == 1
    assert _depth(sqs, url) == 0


def test_load_handler():
    assert load_handler("json.dumps") is json.dumps
    with pytest.raises(ValueError, match=r"module\.function"):
        load_handler("handler")
