"""File events out (ferry.events): the schema, PutEvents failure handling, and the
processor and dead-letter consumer publishing every terminal state (moto S3/DynamoDB)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import ClientError

from ferry import deadletter, events, obs
from ferry.model import Transient
from tests.processors.conftest import FakeContext, Stack, fixture_bytes

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
SCHEMA = json.loads((DOCS / "file-event.schema.json").read_text())
BUS = "ferry-test-events"


def validate(detail: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(detail)


class FakeEvents:
    """PutEvents answers, in order: a dict is a response, an exception is raised."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent.extend(Entries)
        answer = self.answers.pop(0) if self.answers else {"FailedEntryCount": 0}
        if isinstance(answer, Exception):
            raise answer
        return answer

    def details(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e["DetailType"], json.loads(e["Detail"])) for e in self.sent]


def ok() -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}


def failed(code: str) -> dict[str, Any]:
    return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": code, "ErrorMessage": "no"}]}


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutEvents",
    )


def publisher(fake: FakeEvents) -> events.Publisher:
    return events.Publisher(BUS, source="ferry.test", events_client=fake, sleep=lambda _s: None)


LOADED = {
    "ledger_id": "s3://raw-bucket/incoming/orders/a.csv#v1",
    "status": "loaded",
    "bucket": "raw-bucket",
    "key": "incoming/orders/a.csv",
    "version_id": "v1",
    "route": "orders",
    "processor": "csv_postgres",
    "counts": {"rows_loaded": 3},
    "outputs": ["postgresql:sales.orders"],
    "attempt": 1,
    "finished_at": "2026-11-24T04:29:03.118Z",
}


# --- schema and documented examples -------------------------------------------------------


def test_documented_examples_follow_the_schema() -> None:
    examples = json.loads((DOCS / "examples.json").read_text())
    assert {e["detail-type"] for e in examples} == set(events.DETAIL_TYPES.values())
    for example in examples:
        validate(example["detail"])
        assert events.DETAIL_TYPES[example["detail"]["status"]] == example["detail-type"]


def test_schema_refuses_what_it_must() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({**events.detail(LOADED), "status": "in_progress"})
    with pytest.raises(jsonschema.ValidationError):  # a rejection always says why
        validate({**events.detail(LOADED), "status": "rejected"})
    with pytest.raises(jsonschema.ValidationError):
        validate({**events.detail(LOADED), "extra": 1})


def test_detail_from_a_ledger_record() -> None:
    body = events.detail({**LOADED, "version_id": "null", "counts": {"rows_loaded": 3.0}})
    validate(body)
    assert body["version_id"] is None  # the ledger writes "null" for an unversioned bucket
    assert body["counts"] == {"rows_loaded": 3}
    assert body["reason"] is None
    with pytest.raises(ValueError, match="in_progress"):
        events.detail({**LOADED, "status": "in_progress"})


def test_many_outputs_are_cut_and_counted() -> None:
    outputs = [f"s3://processed/k{i}" for i in range(150)]
    body = events.detail({**LOADED, "outputs": outputs})
    validate(body)
    assert (len(body["outputs"]), body["outputs_truncated"]) == (100, 150)


# --- PutEvents failures ---------------------------------------------------------------------


def test_entry_names_the_bus_source_and_detail_type() -> None:
    fake = FakeEvents(ok())
    publisher(fake).publish(LOADED)
    (entry,) = fake.sent
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == (
        BUS,
        "ferry.test",
        "FileLoaded",
    )
    validate(json.loads(entry["Detail"]))


def test_throttled_entry_is_sent_again() -> None:
    fake = FakeEvents(failed("ThrottlingException"), failed("InternalFailure"), ok())
    publisher(fake).publish(LOADED)
    assert len(fake.sent) == 3


def test_entry_still_throttled_after_every_attempt_is_transient() -> None:
    fake = FakeEvents(*[failed("ThrottlingException")] * 3)
    with pytest.raises(Transient, match="ThrottlingException"):
        publisher(fake).publish(LOADED)
    assert len(fake.sent) == 3


@pytest.mark.parametrize(
    "code",
    [
        "AccessDeniedException",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
    ],
)
def test_entry_refused_by_the_role_is_never_acknowledged(code: str) -> None:
    """A policy refusal of the entry is the deployment's: the message comes back, not lost."""
    fake = FakeEvents(*[failed(code)] * 3)
    with pytest.raises(Transient, match=code):
        publisher(fake).publish(LOADED)


def test_malformed_entry_is_refused_without_retry() -> None:
    fake = FakeEvents(failed("MalformedDetail"))
    with pytest.raises(events.PublishRefused, match="MalformedDetail"):
        publisher(fake).publish(LOADED)
    assert len(fake.sent) == 1


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, Transient),
        ("InternalException", 500, Transient),
        ("AccessDeniedException", 400, Transient),  # the deployment: retried until fixed
        ("ResourceNotFoundException", 400, Transient),  # no such bus: the deployment too
        ("ValidationException", 400, events.PublishRefused),
    ],
)
def test_whole_call_failures_follow_aws_classification(
    code: str, status: int, expected: type[Exception]
) -> None:
    with pytest.raises(expected):
        publisher(FakeEvents(client_error(code, status))).publish(LOADED)


def test_events_are_off_without_a_bus() -> None:
    from ferry.settings import Settings

    assert events.from_settings(Settings()) is None
    on = events.from_settings(Settings(event_bus=BUS, event_source="ferry.x"))
    assert on is not None
    assert (on.bus, on.source) == (BUS, "ferry.x")


# --- the processor and the dead-letter consumer ---------------------------------------------


def with_events(stack: Stack, fake: FakeEvents) -> Stack:
    return dataclasses.replace(
        stack, runtime=dataclasses.replace(stack.runtime, events=publisher(fake))
    )


def test_loaded_and_rejected_files_are_published_after_the_ledger(stack: Stack) -> None:
    fake = FakeEvents()
    stack = with_events(stack, fake)
    good = stack.put("incoming/telemetry/ok.json", fixture_bytes("telemetry_seed_003.json"))
    bad = stack.put("incoming/reports/bad.json", b'{"mission": "space"')
    assert stack.run(stack.event(good, bad))["batchItemFailures"] == []
    published = dict((d["key"], (t, d)) for t, d in fake.details())
    for _, body in published.values():
        validate(body)
    kind, loaded = published[good.key]
    assert kind == "FileLoaded"
    ledger = stack.ledger(good)
    assert ledger is not None
    assert (loaded["ledger_id"], loaded["version_id"]) == (good.ledger_id, good.version_id)
    assert loaded["counts"] == {k: int(v) for k, v in ledger["counts"].items()}
    assert (loaded["route"], loaded["outputs"]) == (ledger["route"], ledger["outputs"])
    kind, rejected = published[bad.key]
    assert kind == "FileRejected"
    assert rejected["reason"] == stack.ledger(bad)["reason"]
    assert any(o.endswith(".error.json") for o in rejected["outputs"])


def test_event_not_taken_retries_the_message_and_never_loads_twice(stack: Stack) -> None:
    fake = FakeEvents(*[failed("ThrottlingException")] * 3)
    stack = with_events(stack, fake)
    ref = stack.put("incoming/telemetry/t.json", fixture_bytes("telemetry_seed_003.json"))
    event = stack.event(ref)
    response = stack.run(event)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [ref.message_id]
    first = stack.ledger(ref)
    assert first is not None
    assert first["status"] == "loaded"
    fake.sent.clear()
    assert stack.run(event)["batchItemFailures"] == []  # the retry: EventBridge takes it now
    [(kind, body)] = fake.details()
    assert (kind, body["ledger_id"], body["attempt"]) == ("FileLoaded", ref.ledger_id, 1)
    again = stack.ledger(ref)
    assert again is not None
    assert again["finished_at"] == first["finished_at"]
    assert len(stack.scan(stack.records)) == 3  # loaded once


def test_refused_event_is_counted_and_the_message_acknowledged(stack: Stack) -> None:
    out = io.StringIO()
    stack = with_events(stack, FakeEvents(failed("MalformedDetail")))
    stack.runtime.metrics = obs.Metrics("FerryTest", "ferry-test", out=out)
    ref = stack.put("incoming/telemetry/m.json", fixture_bytes("telemetry_seed_003.json"))
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(d.get("EventsNotPublished") == 1 for d in docs)


def test_dead_lettered_file_is_published(stack: Stack) -> None:
    from tests.processors.test_deadletter import consumer, dlq_event

    fake = FakeEvents(failed("ThrottlingException"), failed("ThrottlingException"))
    ref = stack.put("incoming/orders/dl.csv", b"id\n1\n")
    rt = dataclasses.replace(consumer(stack), events=publisher(fake))
    event = dlq_event(stack, ref, receive_count=5)
    # Two throttled answers, then the third attempt goes through.
    assert deadletter.handle(event, FakeContext(), rt)["batchItemFailures"] == []
    kind, body = fake.details()[-1]
    validate(body)
    item = stack.ledger(ref)
    assert item is not None
    assert (kind, body["status"], body["reason"]) == (
        "FileDeadLettered",
        "dead_lettered",
        item["reason"],
    )
    assert (body["route"], body["attempt"]) == ("orders", 5)


def test_dead_letter_event_not_taken_hands_the_message_back(stack: Stack) -> None:
    from tests.processors.test_deadletter import consumer, dlq_event

    fake = FakeEvents(*[failed("ThrottlingException")] * 3)
    ref = stack.put("incoming/orders/dl2.csv", b"id\n1\n")
    rt = dataclasses.replace(consumer(stack), events=publisher(fake))
    response = deadletter.handle(dlq_event(stack, ref), FakeContext(), rt)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [ref.message_id]
    item = stack.ledger(ref)
    assert item is not None
    assert item["status"] == "dead_lettered"
