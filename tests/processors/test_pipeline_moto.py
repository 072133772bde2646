"""Processors, ledger and handler against real S3/DynamoDB/SQS APIs on the moto server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import sys
from decimal import Decimal
from typing import Any

import pytest

from ferry import intake
from ferry import ledger as ledger_module
from ferry.config import Route
from ferry.model import ObjectRef, Transient
from ferry.processors.file_metadata import document_id
from tests.processors.conftest import Stack, fixture_bytes

pytestmark = pytest.mark.moto


def failures(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def assert_rejected(stack: Stack, ref: ObjectRef, reason_part: str) -> dict[str, Any]:
    """Rejected: ledger record, original copied to the failed bucket, sidecar with reason."""
    item = stack.ledger(ref)
    assert item is not None, "every object has a ledger record"
    assert item["status"] == "rejected", item
    assert reason_part in item["reason"], item["reason"]
    keys = stack.failed_keys()
    assert ref.key in keys, keys
    assert ref.key + ".error.json" in keys, keys
    copied = stack.s3.get_object(Bucket=stack.failed, Key=ref.key)["Body"].read()
    original = stack.s3.get_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
    assert copied == original["Body"].read()
    sidecar = stack.failed_sidecar(ref.key)
    assert sidecar["ledger_id"] == ref.ledger_id
    assert sidecar["source"]["version_id"] == ref.version_id
    assert reason_part in sidecar["reason"]
    assert sidecar["processor"] == item["processor"]
    return item


def handed_back(params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A BatchWriteItem response in which DynamoDB processed nothing (throttled)."""
    http = type("Http", (), {"status_code": 200, "headers": {}})()
    return http, {"UnprocessedItems": json.loads(params["body"])["RequestItems"]}


# --- json_transform (seed 001) -----------------------------------------------------------


def test_report_is_validated_enriched_and_written_to_processed(stack: Stack) -> None:
    ref = stack.put("incoming/reports/r1.json", fixture_bytes("report_seed_001.json"))
    response = stack.run(stack.event(ref))
    assert failures(response) == []
    item = stack.ledger(ref)
    assert item["status"] == "loaded"
    out_key = f"processed/incoming/reports/r1.{ref.version_id}.json"
    assert item["outputs"] == [f"s3://{stack.processed}/{out_key}"]
    doc = json.loads(stack.s3.get_object(Bucket=stack.processed, Key=out_key)["Body"].read())
    assert (doc["mission"], doc["source"], doc["confidence"]) == ("space", "MASINT", 0.95)
    assert doc["_ingestion"]["ledger_id"] == ref.ledger_id
    assert doc["_ingestion"]["source_version_id"] == ref.version_id
    assert stack.failed_keys() == []
    # Writes carry a checksum (Object Lock buckets with default retention require one).
    head = stack.s3.head_object(Bucket=stack.processed, Key=out_key, ChecksumMode="ENABLED")
    assert head.get("ChecksumSHA256")


def test_report_schema_violation_is_rejected_with_path(stack: Stack) -> None:
    body = b'{"mission": "space", "source": "RUMINT", "confidence": 1.5}'
    ref = stack.put("incoming/reports/bad.json", body)
    assert failures(stack.run(stack.event(ref))) == []
    item = assert_rejected(stack, ref, "schema 'report'")
    assert {d["path"] for d in item["details"]} == {"$.source", "$.confidence"}


# --- json_records (seed 003) -------------------------------------------------------------


def test_telemetry_records_are_written_with_deterministic_keys(stack: Stack) -> None:
    ref = stack.put("incoming/telemetry/batch.json", fixture_bytes("telemetry_seed_003.json"))
    assert failures(stack.run(stack.event(ref))) == []
    items = stack.scan(stack.records)
    assert len(items) == 3
    first = next(
        i for i in items if i["device_id"] == "sensor-001" and i["timestamp"].endswith("00:00Z")
    )
    assert first["metrics"]["temperature"] == Decimal("21.5")
    assert first["ingested_from"] == ref.ledger_id
    entry = stack.ledger(ref)
    assert entry["status"] == "loaded"
    assert entry["counts"]["records_loaded"] == 3
    assert entry["counts"]["records_invalid"] == 0
    expected_expiry = int(stack.runtime.clock().timestamp()) + 30 * 86_400
    assert entry["expires_at"] == expected_expiry  # TTL attribute, epoch seconds


def test_duplicate_delivery_leaves_one_result(stack: Stack) -> None:
    ref = stack.put("incoming/telemetry/dup.json", fixture_bytes("telemetry_seed_003.json"))
    event = stack.event(ref)
    assert failures(stack.run(event)) == []
    first = stack.ledger(ref)
    assert failures(stack.run(event)) == []  # redelivery of the same message
    assert failures(stack.run(stack.event(ref, ref))) == []  # twice in one batch
    assert len(stack.scan(stack.records)) == 3
    again = stack.ledger(ref)
    assert again["attempt"] == first["attempt"] == 1
    assert again["finished_at"] == first["finished_at"]


def test_json_lines_with_some_invalid_records_load_valid_ones_and_report(stack: Stack) -> None:
    lines = [
        {"device_id": f"d{i}", "timestamp": "2026-11-24T04:00:00Z", "metrics": {"t": i}}
        for i in range(19)
    ]
    text = "\n".join(json.dumps(r) for r in lines) + '\n{"device_id": "x", "metrics": {}}\n'
    ref = stack.put("incoming/telemetry/mixed.jsonl", text.encode())
    assert failures(stack.run(stack.event(ref))) == []
    entry = stack.ledger(ref)
    assert entry["status"] == "loaded"
    assert entry["counts"]["records_loaded"] == 19
    assert entry["counts"]["records_invalid"] == 1
    report_key = ref.key + ".invalid-records.json"
    assert report_key in stack.failed_keys()
    report = json.loads(stack.s3.get_object(Bucket=stack.failed, Key=report_key)["Body"].read())
    assert {d["record"] for d in report["invalid"]} == {"line 20"}
    messages = " ".join(d["message"] for d in report["invalid"])
    assert "'timestamp' is a required property" in messages


def test_too_many_invalid_records_reject_the_file_and_load_nothing(stack: Stack) -> None:
    body = json.dumps(
        [
            {"device_id": "a", "timestamp": "2026-11-24T04:00:00Z", "metrics": {"t": 1}},
            {"device_id": "b", "timestamp": "yesterday", "metrics": {"t": 1}},
        ]
    ).encode()
    ref = stack.put("incoming/telemetry/half.json", body)
    assert failures(stack.run(stack.event(ref))) == []
    item = assert_rejected(stack, ref, "1 of 2 records are invalid")
    assert item["details"][0]["record"] == "[1]"
    assert item["details"][0]["path"] == "$.timestamp"
    assert stack.scan(stack.records) == []


# Every class of bad input ends rejected, with a specific reason, in the failed bucket.
BAD_INPUTS = [
    ("incoming/telemetry/invalid.json", b'[{"device_id": "a",', "invalid JSON at line 1"),
    ("incoming/telemetry/empty.json", b"", "file is empty"),
    ("incoming/telemetry/blank.json", b"  \n ", "only whitespace"),
    ("incoming/telemetry/latin1.json", b'[{"device_id": "caf\xe9"}]', "not valid UTF-8"),
    ("incoming/telemetry/deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("incoming/telemetry/deep2.json", b"[" * 70 + b"]" * 70, "[0]: JSON nested deeper than 64"),
    ("incoming/telemetry/nan.json", b'[{"metrics": {"t": NaN}}]', "NaN is not valid JSON"),
    ("incoming/telemetry/object.json", b'{"device_id": "a"}', "expected a JSON array of records"),
    ("incoming/telemetry/one.jsonl", b'{"device_id": "a"}\n', "the record is invalid"),
    ("incoming/telemetry/none.json", b"[]", "file holds no records"),
    (
        "incoming/telemetry/bignum.json",
        b'[{"device_id": "a", "timestamp": "2026-11-24T04:00:00Z", "metrics": {"t": 1E+200}}]',
        "the record is invalid",
    ),
    ("incoming/telemetry/scalar.json", b"[1, 2, 3]", "all 3 records are invalid"),
    ("incoming/reports/array.json", b"[1]", "schema 'report'"),
    ("incoming/reports/huge-int.json", b'{"n": ' + b"9" * 5000 + b"}", "invalid JSON"),
    ("unrouted/file.json", b"{}", "no route matches key 'unrouted/file.json'"),
    ("incoming/documents/folder/", b"", "a folder marker, not a file"),
    ("incoming/documents/blob.bin", b"\x00\x01\x02\x03binary", "file type 'binary' is not allowed"),
    ("incoming/documents/empty.pdf", b"", "file is empty"),
]


@pytest.mark.parametrize(("key", "body", "reason"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_rejected_with_a_specific_reason(
    stack: Stack, key: str, body: bytes, reason: str
) -> None:
    ref = stack.put(key, body)
    response = stack.run(stack.event(ref))
    assert failures(response) == [], "permanent problems are never retried"
    assert_rejected(stack, ref, reason)


def test_oversize_file_is_rejected(stack: Stack) -> None:
    rt = stack.runtime
    rt.config = dataclasses.replace(
        rt.config, limits=dataclasses.replace(rt.config.limits, max_stream_bytes=100)
    )
    ref = stack.put("incoming/telemetry/big.json", b"[" + b" " * 200 + b"]")
    assert failures(stack.run(stack.event(ref))) == []
    assert_rejected(stack, ref, "file too large")


def test_batch_write_throttle_returns_the_message_for_retry(stack: Stack) -> None:
    calls: list[int] = []

    def throttle(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        calls.append(1)
        return handed_back(params)

    events = stack.ddb.meta.events
    events.register("before-call.dynamodb.BatchWriteItem", throttle)
    ok = stack.put("incoming/reports/fine.json", fixture_bytes("report_seed_001.json"))
    ref = stack.put("incoming/telemetry/throttled.json", fixture_bytes("telemetry_seed_003.json"))
    try:
        response = stack.run(stack.event(ok, ref))
    finally:
        events.unregister("before-call.dynamodb.BatchWriteItem", throttle)
    assert failures(response) == [ref.message_id]
    assert len(calls) == stack.runtime.config.limits.batch_write_max_attempts
    entry = stack.ledger(ref)
    assert entry["status"] == "in_progress"
    assert "unprocessed" in entry["last_error"]
    assert stack.ledger(ok)["status"] == "loaded"
    # The retry (throttling over) reclaims the released lease at once and loads the file.
    assert failures(stack.run(stack.event(ref))) == []
    entry = stack.ledger(ref)
    assert entry["status"] == "loaded"
    assert entry["attempt"] == 2
    assert len(stack.scan(stack.records)) == 3


def test_unprocessed_items_are_retried_until_written(stack: Stack) -> None:
    state = {"calls": 0}

    def partly(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        state["calls"] += 1
        return handed_back(params) if state["calls"] == 1 else None

    events = stack.ddb.meta.events
    events.register("before-call.dynamodb.BatchWriteItem", partly)
    try:
        written = stack.runtime.dynamodb.batch_write(
            stack.records,
            (
                {"device_id": f"d{i}", "timestamp": "2026-11-24T04:00:00Z", "n": i}
                for i in range(30)
            ),
        )
    finally:
        events.unregister("before-call.dynamodb.BatchWriteItem", partly)
    assert written == 30
    assert state["calls"] == 3  # 25 (handed back, then written) + 5
    assert len(stack.scan(stack.records)) == 30


# --- file_metadata (seed 002) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "body", "kind"),
    [
        ("incoming/documents/report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"x" * 2000, "pdf"),
        ("incoming/documents/image.dat", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "png"),
        ("incoming/documents/archive.gz", gzip.compress(b"hello", mtime=0), "gzip"),
        ("incoming/documents/table.txt", b"a,b,c\n1,2,3\n4,5,6\n", "csv"),
    ],
    ids=["pdf", "png", "gzip", "csv"],
)
def test_document_metadata_is_recorded_with_sniffed_type(
    stack: Stack, key: str, body: bytes, kind: str
) -> None:
    ref = stack.put(key, body, ContentType="application/octet-stream")
    assert failures(stack.run(stack.event(ref))) == []
    (item,) = stack.scan(stack.metadata)
    assert item["documentId"] == document_id(ref)
    assert item["fileType"] == kind
    assert item["fileSize"] == len(body)
    assert item["status"] == "SUCCESS"
    assert item["fileName"] == key.rsplit("/", 1)[1]
    assert item["uploadedAt"] == ref.event_time
    assert stack.ledger(ref)["status"] == "loaded"


def test_document_too_large_is_failed_and_rejected(stack: Stack) -> None:
    config = stack.runtime.config
    routes = tuple(
        Route(r.name, r.prefix, r.suffix, r.processor, {**r.options, "max_bytes": 10})
        if r.processor == "file_metadata"
        else r
        for r in config.routes
    )
    stack.runtime.config = dataclasses.replace(config, routes=routes)
    ref = stack.put("incoming/documents/big.pdf", b"%PDF-1.4" + b"0" * 100)
    assert failures(stack.run(stack.event(ref))) == []
    assert_rejected(stack, ref, "file is 108 bytes, the limit is 10")
    (item,) = stack.scan(stack.metadata)
    assert item["status"] == "FAILED"
    assert "limit is 10" in item["reason"]


# --- ledger -------------------------------------------------------------------------------


def test_live_lease_is_transient_and_expired_lease_is_reclaimed(stack: Stack) -> None:
    ledger = stack.runtime.ledger
    ref = stack.put("incoming/reports/lease.json", fixture_bytes("report_seed_001.json"))
    first = ledger.claim(ref, lease_ms=60_000, owner="invocation-a")
    assert first.attempt == 1
    assert not first.already_done
    with pytest.raises(Transient, match="being processed by invocation-a"):
        ledger.claim(ref, lease_ms=60_000, owner="invocation-b")
    # The same message through the handler: retried later, nothing written.
    assert failures(stack.run(stack.event(ref))) == [ref.message_id]
    # Invocation A crashed; once its lease has passed, another invocation reclaims.
    later = ledger.clock() + dt.timedelta(minutes=5)
    ledger.clock = lambda: later
    second = ledger.claim(ref, lease_ms=60_000, owner="invocation-b")
    assert second.attempt == 2


def test_dead_lettered_object_can_be_redriven(stack: Stack) -> None:
    ledger = stack.runtime.ledger
    ref = stack.put("incoming/reports/dlq.json", fixture_bytes("report_seed_001.json"))
    assert ledger.mark_dead_lettered(ref, "maxReceiveCount reached") is True
    item = stack.ledger(ref)
    assert (item["status"], item["reason"]) == ("dead_lettered", "maxReceiveCount reached")
    # An operator redrives the message: the object is processed after all.
    assert failures(stack.run(stack.event(ref))) == []
    assert stack.ledger(ref)["status"] == "loaded"
    # A late duplicate reaching the DLQ does not overwrite the terminal state.
    assert ledger.mark_dead_lettered(ref, "duplicate dead-lettered") is False
    assert stack.ledger(ref)["status"] == "loaded"


def test_ledger_from_env_uses_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRY_LEDGER_TABLE", stack.runtime.ledger.table)
    ref = ObjectRef(bucket=stack.raw, key="incoming/x.json", version_id="v1")
    assert ledger_module.from_env().mark_dead_lettered(ref, "dead-lettered by the local stack")
    assert stack.ledger(ref)["status"] == "dead_lettered"


def test_unparseable_message_is_acknowledged_and_ledgered(stack: Stack) -> None:
    event = {
        "Records": [
            {
                "messageId": "m-garbage",
                "body": "this is not json",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ferry-test",
            }
        ]
    }
    assert failures(stack.run(event)) == []
    item = stack.runtime.ledger.get("sqs://arn:aws:sqs:eu-west-1:123456789012:ferry-test#m-garbage")
    assert item is not None
    assert item["status"] == "failed"
    assert "not JSON" in item["reason"]
    assert item["body_excerpt"] == "this is not json"


def test_object_deleted_before_processing_is_rejected_not_retried(stack: Stack) -> None:
    ref = stack.put("incoming/reports/gone.json", fixture_bytes("report_seed_001.json"))
    stack.s3.delete_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
    assert failures(stack.run(stack.event(ref))) == []
    item = stack.ledger(ref)
    assert item["status"] == "rejected"
    assert "no longer exists" in item["reason"]
    assert stack.failed_keys() == [ref.key + ".error.json"]


# --- end to end: a real S3 notification through SQS ---------------------------------------


def test_handler_end_to_end_with_real_s3_notification_via_sqs(stack: Stack) -> None:
    sqs = stack.aws("sqs")
    queue_url = sqs.create_queue(QueueName=f"intake-{stack.raw}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    queue_arn = attributes["Attributes"]["QueueArn"]
    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.raw,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    key = "incoming/reports/Q4 report (final)+é.json"
    stack.s3.put_object(Bucket=stack.raw, Key=key, Body=fixture_bytes("report_seed_001.json"))

    records: list[dict[str, Any]] = []
    for _ in range(5):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        records.extend(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for m in got.get("Messages", [])
        )
        if any("ObjectCreated" in r["body"] for r in records):
            break
    assert any("ObjectCreated" in r["body"] for r in records), records

    response = stack.run({"Records": records})
    assert failures(response) == []
    (ref,) = intake.object_refs({"Records": records}).refs  # a test event is ignored
    assert ref.key == key  # URL-decoded
    item = stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded", item
    out_key = f"processed/incoming/reports/Q4 report (final)+é.{ref.version_id or 'null'}.json"
    assert item["outputs"] == [f"s3://{stack.processed}/{out_key}"]
    doc = json.loads(stack.s3.get_object(Bucket=stack.processed, Key=out_key)["Body"].read())
    assert doc["_ingestion"]["source_key"] == key


def test_delete_raw_on_loaded_removes_only_loaded_objects(stack: Stack) -> None:
    stack.runtime.config = dataclasses.replace(stack.runtime.config, delete_raw="on_loaded")
    good = stack.put("incoming/reports/good.json", fixture_bytes("report_seed_001.json"))
    bad = stack.put("incoming/reports/bad.json", b"{")
    assert failures(stack.run(stack.event(good, bad))) == []
    listed = stack.s3.list_objects_v2(Bucket=stack.raw).get("Contents", [])
    assert [o["Key"] for o in listed] == [bad.key]  # a delete marker hides the loaded one
    versions = stack.s3.list_object_versions(Bucket=stack.raw, Prefix=good.key)
    assert [v["VersionId"] for v in versions["Versions"]] == [good.version_id]  # still kept


def test_handler_logs_carry_key_and_ledger_id_and_emit_emf(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from ferry import obs

    stream = io.StringIO()
    obs.setup_logging("INFO", stream=stream)
    try:
        ref = stack.put("incoming/reports/logged.json", b'{"mission": 1}')
        assert failures(stack.run(stack.event(ref))) == []
    finally:
        obs.setup_logging("INFO", stream=sys.stdout)
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    (rejected,) = [e for e in entries if e["message"].startswith("rejected:")]
    assert rejected["key"] == ref.key
    assert rejected["ledger_id"] == ref.ledger_id
    assert rejected["message_id"] == ref.message_id
    assert rejected["processor"] == "json_transform"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    per_object = [d for d in emf if d.get("Processor") == "json_transform"]
    assert per_object[0]["Rejects"] == 1
    assert per_object[0]["ledger_id"] == ref.ledger_id


def test_objects_are_not_started_close_to_the_deadline(stack: Stack) -> None:
    ref = stack.put("incoming/reports/late.json", fixture_bytes("report_seed_001.json"))
    assert failures(stack.run(stack.event(ref), remaining_ms=3_000)) == [ref.message_id]
    assert stack.ledger(ref) is None  # never claimed: the retry starts clean
    assert failures(stack.run(stack.event(ref))) == []
    assert stack.ledger(ref)["status"] == "loaded"


def test_entry_point_builds_its_runtime_from_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ferry.handler.handler` as Lambda calls it: FERRY_* settings, boto3 via AWS_ENDPOINT_URL."""
    from ferry import handler as entry
    from ferry import obs
    from tests.processors.conftest import FakeContext

    settings = stack.runtime.settings
    for name, value in {
        "FERRY_LEDGER_TABLE": settings.ledger_table,
        "FERRY_RECORDS_TABLE": settings.records_table,
        "FERRY_METADATA_TABLE": settings.metadata_table,
        "FERRY_PROCESSED_BUCKET": settings.processed_bucket,
        "FERRY_FAILED_BUCKET": settings.failed_bucket,
        "FERRY_LEDGER_TTL_DAYS": "14",
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("FERRY_CONFIG_PATH", raising=False)
    monkeypatch.setattr(entry, "_runtime", None)
    ref = stack.put("incoming/telemetry/env.json", fixture_bytes("telemetry_seed_003.json"))
    try:
        response = entry.handler(stack.event(ref), FakeContext())
    finally:
        obs.setup_logging("INFO", stream=sys.stdout)
    assert failures(response) == []
    item = stack.ledger(ref)
    assert item["status"] == "loaded"
    assert item["counts"]["records_loaded"] == 3


def test_direct_eventbridge_invocation_raises_on_transient_failure(stack: Stack) -> None:
    """Without SQS there is no batch response: Lambda's async retries need an exception."""
    ref = stack.put("incoming/reports/direct.json", fixture_bytes("report_seed_001.json"))
    event = json.loads(fixture_bytes("eventbridge_object_created.json"))
    event["detail"]["bucket"]["name"] = ref.bucket
    event["detail"]["object"].update(key=ref.key, **{"version-id": ref.version_id})
    direct = dataclasses.replace(ref, message_id=None)
    stack.runtime.ledger.claim(direct, lease_ms=60_000, owner="someone-else")
    with pytest.raises(Transient, match="failed transiently"):
        stack.run(event)
    later = stack.runtime.ledger.clock() + dt.timedelta(minutes=5)
    stack.runtime.ledger.clock = lambda: later
    assert stack.run(event) == {"batchItemFailures": []}
    assert stack.ledger(ref)["status"] == "loaded"


def test_bad_message_is_retried_when_the_ledger_cannot_record_it(stack: Stack) -> None:
    stack.runtime.ledger.table = "ferry-ledger-missing"  # every ledger call fails
    event = {
        "Records": [
            {
                "messageId": "m-garbage",
                "body": "{",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ferry-test",
            }
        ]
    }
    assert failures(stack.run(event)) == ["m-garbage"]
