"""End to end on the local stack: file events for loaded and rejected files reach an
EventBridge bus (and a rule's SQS target), and the malware gate loads a clean file
and quarantines an infected one from GuardDuty-shaped scan results.

GuardDuty does not run on the emulator: the test puts the scan-result events on
the ingest queue in the shape GuardDuty documents, as the pipeline's rule
delivers them in AWS."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ferry import events
from ferry_dev.local import Stack
from ferry_dev.samples import orders_csv, telemetry
from tests.e2e.conftest import (
    E2E_GROUP,
    environment_handler,
    ledger,
    new_runtime,
    orders_dataset,
    orders_rows,
    pollers,
    put,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(E2E_GROUP)]

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "events" / "file-event.schema.json").read_text()
)
TERMINAL = {"loaded", "rejected", "dead_lettered"}


def _capture(stack: Stack, run_id: str) -> tuple[str, str]:
    """A bus of the test's own, a rule for ferry's file events and an SQS queue it feeds."""
    bus = f"ferry-e2e-{run_id}"
    ev, sqs = stack.client("events"), stack.client("sqs")
    ev.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName=f"ferry-e2e-events-{run_id}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    ev.put_rule(
        Name="files",
        EventBusName=bus,
        EventPattern=json.dumps(
            {"source": ["ferry.e2e"], "detail-type": list(events.DETAIL_TYPES.values())}
        ),
    )
    ev.put_targets(Rule="files", EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
    return bus, url


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


def _terminal(stack: Stack, bucket: str, keys: list[str]) -> bool:
    return all((ledger(stack, bucket, k) or {}).get("status") in TERMINAL for k in keys)


def test_loaded_and_rejected_files_are_published(stack: Stack, run_id: str) -> None:
    bus, url = _capture(stack, run_id)
    raw = stack.outputs["bucket_names"]["raw"]
    first_id = int(time.time() * 1000) % 10**12 * 1000
    good = f"incoming/orders/{run_id}/orders.csv"
    bad = f"incoming/telemetry/{run_id}/broken.json"
    put(stack, good, orders_csv(orders_dataset(stack), 20, first_id))
    put(stack, bad, b'[{"device_id": "x"')
    runtime = dataclasses.replace(
        new_runtime(),
        events=events.Publisher(bus, source="ferry.e2e", events_client=stack.client("events")),
    )
    with pollers(stack, [environment_handler(runtime)]):
        wait_for(lambda: _terminal(stack, raw, [good, bad]), 90, "both files terminal")
    received = {}
    wait_for(
        lambda: (
            received.update({e["detail"]["key"]: e for e in _received(stack, url)})
            or len(received) >= 2
        ),
        30,
        "two file events on the rule's target",
    )
    for event in received.values():
        jsonschema.validate(event["detail"], SCHEMA)
    loaded, rejected = received[good], received[bad]
    assert (loaded["detail-type"], loaded["source"]) == ("FileLoaded", "ferry.e2e")
    assert loaded["detail"]["counts"]["rows_loaded"] == 20
    assert loaded["detail"]["ledger_id"] == ledger(stack, raw, good)["ledger_id"]
    assert rejected["detail-type"] == "FileRejected"
    assert rejected["detail"]["reason"] == ledger(stack, raw, bad)["reason"]


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
