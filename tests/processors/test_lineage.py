"""Lineage in the DynamoDB and S3 sinks: every item and object names its source version."""

from __future__ import annotations

import json

from tests.processors.conftest import Stack, fixture_bytes


def test_records_name_their_source_version_and_index(stack: Stack) -> None:
    ref = stack.put("incoming/telemetry/batch.json", fixture_bytes("telemetry_seed_003.json"))
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    source = json.loads(fixture_bytes("telemetry_seed_003.json"))
    records = source if isinstance(source, list) else source["records"]
    items = stack.scan(stack.records)
    assert {i["ingested_from"] for i in items} == {ref.ledger_id}
    for item in items:
        original = records[int(item["ingested_record"])]
        assert (original["device_id"], original["timestamp"]) == (
            item["device_id"],
            item["timestamp"],
        )


def test_processed_objects_name_their_source_in_metadata(stack: Stack) -> None:
    ref = stack.put("incoming/reports/r ä.json", fixture_bytes("report_seed_001.json"))
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    (uri,) = stack.ledger(ref)["outputs"]
    key = uri.split("/", 3)[3]
    meta = stack.s3.head_object(Bucket=stack.processed, Key=key)["Metadata"]
    assert meta["ferry-source-bucket"] == ref.bucket
    assert meta["ferry-source-version"] == ref.version_id
    assert meta["ferry-source-key"] == "incoming/reports/r%20%C3%A4.json"
