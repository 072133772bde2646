"""End to end on the local stack: the processor and the dead-letter consumer publish
the file events of loaded, rejected and dead-lettered files to the stack's bus,
under their roles' policies (moto's IAM enforcement with ``events:source``, see
:mod:`ferry_dev.motoserver`), and a rule of the test's own on that bus delivers
them to an SQS queue; the malware gate loads a clean file and quarantines an
infected one from GuardDuty-shaped scan results.

A PutEvents the role may not make is refused: the file's message comes back
(the publisher treats it as the deployment's problem), no event reaches the
rule's target, and these tests time out waiting for it.

GuardDuty does not run on the emulator: the test puts the scan-result events on
the ingest queue in the shape GuardDuty documents, as the pipeline's rule
delivers them in AWS."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ferry import events
from ferry_dev.local import Stack
from ferry_dev.samples import orders_csv, telemetry
from tests.e2e.conftest import (
    E2E_GROUP,
    deadletter_handler,
    environment_handler,
    ledger,
    new_runtime,
    orders_dataset,
    orders_rows,
    pollers,
    put,
    queue_total,
    set_queue,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(E2E_GROUP)]

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "events" / "file-event.schema.json").read_text()
)
TERMINAL = {"loaded", "rejected", "dead_lettered"}


@contextmanager
def capture(stack: Stack, run_id: str) -> Iterator[str]:
    """A rule of the test's own on the stack's bus, for ferry's file events, to its own queue."""
    bus, source = stack.outputs["event_bus_name"], stack.outputs["event_source"]
    assert bus, "environments/local publishes file events"
    assert source
    ev, sqs = stack.client("events"), stack.client("sqs")
    url = sqs.create_queue(QueueName=f"ferry-e2e-events-{run_id}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    rule = f"ferry-e2e-{run_id}"
    ev.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps(
            {"source": [source], "detail-type": list(events.DETAIL_TYPES.values())}
        ),
    )
    ev.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
    try:
        yield url
    finally:
        ev.remove_targets(Rule=rule, EventBusName=bus, Ids=["capture"])
        ev.delete_rule(Name=rule, EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)


def _received(stack: Stack, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        if not r.get("Messages"):
            return out
        for m in r["Messages"]:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def events_for(stack: Stack, url: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The file events of ``keys`` the rule's target received (schema-checked), by key."""
    received: dict[str, dict[str, Any]] = {}

    def done() -> bool:
        for event in _received(stack, url):
            if event["detail"]["key"] in keys:
                received[event["detail"]["key"]] = event
        return set(received) == set(keys)

    wait_for(done, 30, f"file events for {keys} on the rule's target")
    for event in received.values():
        jsonschema.validate(event["detail"], SCHEMA)
        assert event["source"] == stack.outputs["event_source"]
    return received


def _terminal(stack: Stack, bucket: str, keys: list[str]) -> bool:
    return all((ledger(stack, bucket, k) or {}).get("status") in TERMINAL for k in keys)


def test_the_roles_may_publish_only_their_source_on_their_bus(stack: Stack) -> None:
    """The control for the tests below: IAM on PutEvents is enforced on this stack."""
    from botocore.exceptions import ClientError

    bus, source = stack.outputs["event_bus_name"], stack.outputs["event_source"]
    entry = {"DetailType": "FileLoaded", "Detail": "{}"}
    for role in ("processor", "deadletter"):
        ev = stack.client("events", role)
        for bad in ({"Source": "ferry.other", "EventBusName": bus}, {"Source": source}):
            with pytest.raises(ClientError) as err:  # another source; the default bus
                ev.put_events(Entries=[{**entry, **bad}])
            assert err.value.response["Error"]["Code"] == "AccessDeniedException", (role, bad)


def test_loaded_and_rejected_files_are_published_by_the_processor(
    stack: Stack, run_id: str
) -> None:
    raw = stack.outputs["bucket_names"]["raw"]
    first_id = int(time.time() * 1000) % 10**12 * 1000
    good = f"incoming/orders/{run_id}/orders.csv"
    bad = f"incoming/telemetry/{run_id}/broken.json"
    with capture(stack, run_id) as url:
        put(stack, good, orders_csv(orders_dataset(stack), 20, first_id))
        put(stack, bad, b'[{"device_id": "x"')
        runtime = new_runtime()
        assert runtime.events is not None
        assert runtime.events.bus == stack.outputs["event_bus_name"]
        with pollers(stack, [environment_handler(runtime)]):
            wait_for(lambda: _terminal(stack, raw, [good, bad]), 90, "both files terminal")
            received = events_for(stack, url, [good, bad])
        assert queue_total(stack) == 0, "every message acknowledged: the events were accepted"
    loaded, rejected = received[good], received[bad]
    assert loaded["detail-type"] == "FileLoaded"
    assert loaded["detail"]["counts"]["rows_loaded"] == 20
    assert loaded["detail"]["ledger_id"] == ledger(stack, raw, good)["ledger_id"]
    assert rejected["detail-type"] == "FileRejected"
    assert rejected["detail"]["reason"] == ledger(stack, raw, bad)["reason"]


def test_dead_lettered_file_is_published_by_the_dead_letter_consumer(
    stack: Stack, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ferry.model import Transient
    from ferry.processors import json_records

    raw = stack.outputs["bucket_names"]["raw"]
    key = f"incoming/telemetry/{run_id}/poison.json"
    run = json_records.JsonRecordsProcessor.run

    def always_transient(self: Any, ref: Any, ctx: Any) -> Any:
        if ref.key == key:
            raise Transient("throttled (injected)")
        return run(self, ref, ctx)

    monkeypatch.setattr(json_records.JsonRecordsProcessor, "run", always_transient)
    set_queue(stack, visibility=1, max_receive=1)
    with capture(stack, run_id) as url:
        put(stack, key, json.dumps(telemetry(run_id, 3)).encode())
        with (
            pollers(stack, [environment_handler()], batch_size=1),
            pollers(stack, [deadletter_handler(stack)], queue="dlq_url", role="deadletter"),
        ):
            wait_for(lambda: _terminal(stack, raw, [key]), 60, "the file dead-lettered")
            received = events_for(stack, url, [key])
            wait_for(lambda: queue_total(stack, "dlq_url") == 0, 30, "the DLQ consumed")
    event = received[key]
    assert event["detail-type"] == "FileDeadLettered"
    assert event["detail"]["ledger_id"] == ledger(stack, raw, key)["ledger_id"]
    assert "throttled (injected)" in event["detail"]["reason"]


def _scan_result(bucket: str, key: str, status: str, threats: list[str] | None) -> str:
    """GuardDuty's "Object Scan Result" event (documented shape), as the rule delivers it."""
    return json.dumps(
        {
            "version": "0",
            "id": "72c7d362-737a-6dce-fc78-9e27a0171419",
            "detail-type": "GuardDuty Malware Protection Object Scan Result",
            "source": "aws.guardduty",
            "account": "123456789012",
            "time": "2026-11-24T04:30:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": {
                "schemaVersion": "1.0",
                "scanStatus": "COMPLETED",
                "resourceType": "S3_OBJECT",
                "s3ObjectDetails": {"bucketName": bucket, "objectKey": key, "s3Throttled": False},
                "scanResultDetails": {
                    "scanResultStatus": status,
                    "threats": [{"name": n} for n in threats] if threats else None,
                },
            },
        }
    )


def test_malware_gate_loads_clean_and_quarantines_infected(stack: Stack, run_id: str) -> None:
    raw = stack.outputs["bucket_names"]["raw"]
    failed = stack.outputs["bucket_names"]["failed"]
    first_id = int(time.time() * 1000) % 10**12 * 1000 + 500
    clean = f"incoming/orders/{run_id}/clean.csv"
    infected = f"incoming/telemetry/{run_id}/infected.json"
    put(stack, clean, orders_csv(orders_dataset(stack), 10, first_id))
    put(stack, infected, json.dumps(telemetry(run_id, 3)).encode())
    base = new_runtime()
    gated = dataclasses.replace(
        base, settings=dataclasses.replace(base.settings, malware_gate=True)
    )
    with pollers(stack, [environment_handler(gated)]):
        # The Object Created notifications arrive first: acknowledged, nothing recorded.
        time.sleep(3)
        assert ledger(stack, raw, clean) is None
        sqs = stack.client("sqs")
        for key, status, threats in (
            (clean, "NO_THREATS_FOUND", None),
            (infected, "THREATS_FOUND", ["EICAR-Test-File (not a virus)"]),
        ):
            sqs.send_message(
                QueueUrl=stack.outputs["queue_url"],
                MessageBody=_scan_result(raw, key, status, threats),
            )
        wait_for(lambda: _terminal(stack, raw, [clean, infected]), 90, "scan results handled")
    assert ledger(stack, raw, clean)["status"] == "loaded"
    assert orders_rows(stack, first_id, first_id + 100) == 10
    item = ledger(stack, raw, infected)
    assert (item["status"], item["processor"]) == ("rejected", "malware_gate")
    assert "EICAR-Test-File" in item["reason"]
    keys = {
        o["Key"]
        for o in stack.client("s3")
        .list_objects_v2(Bucket=failed, Prefix=f"quarantine/{infected}")
        .get("Contents", [])
    }
    assert keys == {f"quarantine/{infected}", f"quarantine/{infected}.error.json"}
    got = stack.client("dynamodb").query(
        TableName=stack.outputs["table_names"]["records"],
        KeyConditionExpression="device_id = :d",
        ExpressionAttributeValues={":d": {"S": f"sensor-{run_id}-0"}},
    )
    assert got["Count"] == 0, "an infected file never reaches a sink"
