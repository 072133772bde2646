"""The malware gate (ferry.gate): GuardDuty scan results in, only clean files processed."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ferry import gate, intake
from ferry.model import ObjectRef
from tests.processors.conftest import Stack, fixture_bytes


def scan_result(
    ref: ObjectRef, status: str = "NO_THREATS_FOUND", threats: list[str] | None = None
) -> dict[str, Any]:
    """GuardDuty's "Object Scan Result" event, in the shape its documentation gives
    (https://docs.aws.amazon.com/guardduty/latest/ug/monitor-with-eventbridge-s3-malware-protection.html)."""
    return {
        "version": "0",
        "id": "72c7d362-737a-6dce-fc78-9e27a0171419",
        "detail-type": "GuardDuty Malware Protection Object Scan Result",
        "source": "aws.guardduty",
        "account": "123456789012",
        "time": "2026-11-24T04:30:00Z",
        "region": "eu-west-1",
        "resources": [
            "arn:aws:guardduty:eu-west-1:123456789012:malware-protection-plan/b4c7f464ab3a4EXAMPLE"
        ],
        "detail": {
            "schemaVersion": "1.0",
            "scanStatus": "COMPLETED" if status != "FAILED" else "FAILED",
            "resourceType": "S3_OBJECT",
            "s3ObjectDetails": {
                "bucketName": ref.bucket,
                "objectKey": ref.key,
                "eTag": ref.etag,
                "versionId": ref.version_id,
                "s3Throttled": False,
            },
            "scanResultDetails": {
                "scanResultStatus": status,
                "threats": [{"name": n} for n in threats] if threats else None,
            },
        },
    }


def sqs(*events: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "handle",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ferry-test",
            }
            for message_id, body in events
        ]
    }


def gated(stack: Stack) -> Stack:
    runtime = stack.runtime
    settings = dataclasses.replace(runtime.settings, malware_gate=True)
    return dataclasses.replace(stack, runtime=dataclasses.replace(runtime, settings=settings))


REF = ObjectRef(bucket="ferry-raw", key="incoming/a b.csv", version_id="v1", etag="e")


def test_intake_reads_the_scan_result_and_keeps_the_key_literal() -> None:
    parsed = intake.object_refs(sqs(("m1", scan_result(REF, "THREATS_FOUND", ["EICAR"]))))
    assert parsed.bad == []
    (ref,) = parsed.refs
    assert (ref.bucket, ref.key, ref.version_id, ref.etag) == (
        "ferry-raw",
        "incoming/a b.csv",
        "v1",
        "e",
    )
    assert (ref.scan_result, ref.threats, ref.message_id) == ("THREATS_FOUND", ("EICAR",), "m1")
    assert ref.ledger_id == REF.ledger_id  # the same file version as its ObjectCreated event


def test_scan_status_without_a_result_is_never_clean() -> None:
    event = scan_result(REF)
    event["detail"]["scanStatus"] = "SKIPPED"
    event["detail"]["scanResultDetails"] = None
    (ref,) = intake.object_refs(event).refs
    assert ref.scan_result == "SKIPPED"
    assert gate.verdict(ref, enabled=True) == "quarantine"


def test_other_guardduty_events_are_bad_messages() -> None:
    event = {**scan_result(REF), "detail-type": "GuardDuty Finding"}
    parsed = intake.object_refs(sqs(("m1", event)))
    assert parsed.refs == []
    assert "not processed" in parsed.bad[0].reason


@pytest.mark.parametrize(
    ("result", "enabled", "expected"),
    [
        ("NO_THREATS_FOUND", True, "process"),
        ("THREATS_FOUND", True, "quarantine"),
        ("UNSUPPORTED", True, "quarantine"),
        ("ACCESS_DENIED", True, "quarantine"),
        ("FAILED", True, "quarantine"),
        (None, True, "wait"),
        (None, False, "process"),
        ("THREATS_FOUND", False, "process"),
    ],
)
def test_verdict(result: str | None, enabled: bool, expected: str) -> None:
    ref = dataclasses.replace(REF, scan_result=result)
    assert gate.verdict(ref, enabled=enabled) == expected


def test_clean_file_is_processed(stack: Stack) -> None:
    stack = gated(stack)
    ref = stack.put("incoming/telemetry/clean.json", fixture_bytes("telemetry_seed_003.json"))
    assert stack.run(sqs(("m1", scan_result(ref))))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded"
    assert len(stack.scan(stack.records)) == 3


@pytest.mark.parametrize(
    ("result", "threats", "said"),
    [
        ("THREATS_FOUND", ["EICAR-Test-File (not a virus)"], "EICAR-Test-File"),
        ("UNSUPPORTED", None, "could not scan the file (UNSUPPORTED)"),
    ],
)
def test_infected_or_unscannable_file_is_quarantined_and_reaches_no_sink(
    stack: Stack, result: str, threats: list[str] | None, said: str
) -> None:
    stack = gated(stack)
    ref = stack.put("incoming/telemetry/bad.json", fixture_bytes("telemetry_seed_003.json"))
    assert stack.run(sqs(("m1", scan_result(ref, result, threats))))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item is not None
    assert (item["status"], item["processor"]) == ("rejected", "malware_gate")
    assert "quarantined by the malware gate" in item["reason"]
    assert said in item["reason"]
    assert item["details"][0]["scan_result"] == result
    assert stack.scan(stack.records) == []  # never reached a sink
    assert stack.failed_keys() == [f"quarantine/{ref.key}", f"quarantine/{ref.key}.error.json"]
    copied = stack.s3.get_object(Bucket=stack.failed, Key=f"quarantine/{ref.key}")["Body"].read()
    assert copied == fixture_bytes("telemetry_seed_003.json")
    sidecar = json.loads(
        stack.s3.get_object(Bucket=stack.failed, Key=f"quarantine/{ref.key}.error.json")[
            "Body"
        ].read()
    )
    assert sidecar["ledger_id"] == ref.ledger_id
    assert sidecar["processor"] == "malware_gate"
    # A clean result arriving later for the same version changes nothing: the file is done.
    assert stack.run(sqs(("m2", scan_result(ref))))["batchItemFailures"] == []
    assert stack.scan(stack.records) == []


def test_object_created_without_a_scan_result_waits(stack: Stack) -> None:
    stack = gated(stack)
    ref = stack.put("incoming/telemetry/early.json", fixture_bytes("telemetry_seed_003.json"))
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    assert stack.ledger(ref) is None  # nothing recorded: the scan result decides
    assert stack.scan(stack.records) == []
