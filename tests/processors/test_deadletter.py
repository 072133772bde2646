"""ferry.deadletter: the DLQ consumer marks objects dead_lettered in the ledger (moto DynamoDB)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ferry import deadletter, obs
from ferry.aws import DynamoDB
from ferry.ledger import Ledger
from ferry.model import ObjectRef
from tests.processors.conftest import NOW, FakeContext, Stack, fixture_bytes

DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:ferry-test-dlq"


def consumer(stack: Stack, ledger: Ledger | None = None) -> deadletter.Consumer:
    config = stack.runtime.config

    def route_for(key: str) -> str | None:
        route = config.route_for(key)
        return route.name if route else None

    return deadletter.Consumer(
        ledger or stack.runtime.ledger,
        route_for,
        obs.Metrics("FerryTest", "deadletter", io.StringIO()),
    )


def dlq_event(stack: Stack, *refs: ObjectRef, receive_count: int = 1) -> dict[str, Any]:
    """The processor's SQS event, as the DLQ's event source mapping delivers it."""
    event = stack.event(*refs)
    for record in event["Records"]:
        record["eventSourceARN"] = DLQ_ARN
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def run(stack: Stack, event: dict[str, Any], ledger: Ledger | None = None) -> list[str]:
    response = deadletter.handle(event, FakeContext(), consumer(stack, ledger))
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_in_progress_object_ends_dead_lettered_with_last_error_and_attempts(stack: Stack) -> None:
    ledger = stack.runtime.ledger
    ref = stack.put("incoming/orders/dlq.csv", b"id\n1\n")
    for owner in ("invocation-a", "invocation-b"):
        job = ledger.claim(ref, lease_ms=60_000, owner=owner)
        job.release("cannot connect to PostgreSQL at db:5432")
    assert run(stack, dlq_event(stack, ref, receive_count=1)) == []
    item = stack.ledger(ref)
    assert item is not None
    assert item["status"] == "dead_lettered"
    assert item["attempt"] == 2  # the processor's claims
    assert item["receive_count"] == 1
    assert item["last_error"] == "cannot connect to PostgreSQL at db:5432"
    assert "last error: cannot connect to PostgreSQL" in item["reason"]
    # What a reprocess needs later.
    assert (item["bucket"], item["key"], item["version_id"]) == (
        ref.bucket,
        ref.key,
        ref.version_id,
    )
    assert item["route"] == "orders"
    assert item["message_id"] == ref.message_id
    assert item["dead_lettered_at"] == item["finished_at"]
    assert "lease_until" not in item


def test_object_never_claimed_counts_deliveries(stack: Stack) -> None:
    ref = stack.put("incoming/reports/never.json", fixture_bytes("report_seed_001.json"))
    assert run(stack, dlq_event(stack, ref, receive_count=4)) == []
    item = stack.ledger(ref)
    assert item is not None
    assert (item["status"], item["attempt"], item["route"]) == ("dead_lettered", 4, "reports")
    assert item["reason"] == "dead-lettered: processing failed on 4 deliveries"


@pytest.mark.parametrize("terminal", ["loaded", "rejected"])
def test_never_overwrites_a_terminal_state(stack: Stack, terminal: str) -> None:
    ref = stack.put(f"incoming/reports/{terminal}.json", fixture_bytes("report_seed_001.json"))
    if terminal == "loaded":
        assert stack.run(stack.event(ref))["batchItemFailures"] == []
    else:
        stack.runtime.ledger.record_bad_message(ref.ledger_id, None, "x", "", status="rejected")
    before = stack.ledger(ref)
    assert before is not None
    assert before["status"] == terminal
    assert run(stack, dlq_event(stack, ref)) == []
    assert stack.ledger(ref) == before


def test_a_second_delivery_of_the_same_message_keeps_the_record(stack: Stack) -> None:
    ref = stack.put("incoming/reports/twice.json", fixture_bytes("report_seed_001.json"))
    assert run(stack, dlq_event(stack, ref, receive_count=3)) == []
    assert run(stack, dlq_event(stack, ref, receive_count=3)) == []
    item = stack.ledger(ref)
    assert item is not None
    assert (item["status"], item["attempt"]) == ("dead_lettered", 3)


def test_dead_lettered_object_is_claimed_again_on_redrive(stack: Stack) -> None:
    ref = stack.put("incoming/reports/redrive.json", fixture_bytes("report_seed_001.json"))
    assert run(stack, dlq_event(stack, ref)) == []
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    assert stack.ledger(ref)["status"] == "loaded"


def test_items_written_as_failed_by_earlier_versions_can_still_be_redriven(stack: Stack) -> None:
    ref = stack.put("incoming/reports/legacy.json", fixture_bytes("report_seed_001.json"))
    stack.runtime.ledger.record_bad_message(
        ref.ledger_id, "m", "dead-lettered", "", status="failed"
    )
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    assert stack.ledger(ref)["status"] == "loaded"


def _wrap(body: dict[str, Any], stack: Stack, message_id: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "h",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "2"},
                "eventSource": "aws:sqs",
                "eventSourceARN": DLQ_ARN,
            }
        ]
    }


def test_sns_wrapped_and_eventbridge_bodies(stack: Stack) -> None:
    sns_ref = stack.put("incoming/reports/sns.json", fixture_bytes("report_seed_001.json"))
    s3_body = json.loads(stack.event(sns_ref)["Records"][0]["body"])
    sns = {"Type": "Notification", "MessageId": "n1", "Message": json.dumps(s3_body)}
    assert run(stack, _wrap(sns, stack, "m-sns")) == []
    assert stack.ledger(sns_ref)["status"] == "dead_lettered"

    eb_ref = stack.put("incoming/documents/eb.pdf", b"%PDF-1.4")
    eventbridge = {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "time": "2026-11-24T04:29:00Z",
        "detail": {
            "bucket": {"name": eb_ref.bucket},
            "object": {"key": eb_ref.key, "version-id": eb_ref.version_id, "size": 8},
        },
    }
    assert run(stack, _wrap(eventbridge, stack, "m-eb")) == []
    item = stack.ledger(eb_ref)
    assert item is not None
    assert (item["status"], item["route"]) == ("dead_lettered", "documents")


def test_unparseable_message_is_recorded_under_its_message_id(stack: Stack) -> None:
    event = _wrap({"not": "an event"}, stack, "m-garbage")
    assert run(stack, event) == []
    item = stack.runtime.ledger.get(f"sqs://{DLQ_ARN}#m-garbage")
    assert item is not None
    assert item["status"] == "dead_lettered"
    assert "not an S3, SNS, SQS or EventBridge event" in item["reason"]


def test_record_without_anything_readable_is_dropped(stack: Stack, caplog: Any) -> None:
    event = {"Records": [{"eventSource": "aws:sqs", "body": None}]}
    assert run(stack, event) == []
    assert "dropped" in caplog.text


class Throttling:
    """A DynamoDB client that throttles UpdateItem for one key (then behaves)."""

    def __init__(self, real: Any, ledger_id: str) -> None:
        self.real = real
        self.ledger_id = ledger_id

    def update_item(self, **kwargs: Any) -> Any:
        if kwargs["Key"]["ledger_id"]["S"] == self.ledger_id:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "UpdateItem",
            )
        return self.real.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_transient_error_returns_only_that_message(stack: Stack) -> None:
    ok = stack.put("incoming/reports/ok.json", fixture_bytes("report_seed_001.json"))
    slow = stack.put("incoming/reports/slow.json", fixture_bytes("report_seed_001.json"))
    throttled = DynamoDB(Throttling(stack.ddb, slow.ledger_id))
    ledger = Ledger(stack.runtime.ledger.table, throttled, clock=lambda: NOW)
    assert run(stack, dlq_event(stack, ok, slow), ledger) == [slow.message_id]
    assert stack.ledger(ok)["status"] == "dead_lettered"
    assert stack.ledger(slow) is None


def test_handler_reads_its_environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRY_LEDGER_TABLE", stack.runtime.ledger.table)
    monkeypatch.setenv("FERRY_ROLE", "deadletter")
    monkeypatch.setattr(deadletter, "_consumer", None)
    ref = stack.put("incoming/telemetry/env.json", b"{}")
    response = deadletter.handler(dlq_event(stack, ref, receive_count=3), FakeContext())
    assert response == {"batchItemFailures": []}
    item = stack.ledger(ref)
    assert item is not None
    assert (item["status"], item["route"]) == ("dead_lettered", "telemetry")


def test_not_an_sqs_event_records_nothing(stack: Stack) -> None:
    assert run(stack, {"detail-type": "x"}) == []
