"""Intake against real event samples collected from public projects.

The corpus lives outside the repository, in ``../shared/events`` relative to the
repository root, or where ``FERRY_EVENT_CORPUS`` points (see its INDEX.md for
provenance). Every sample is either parsed into object refs with sane fields,
or rejected with a specific reason; nothing raises, and nothing is silently
dropped.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from ferry.intake import object_refs

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("FERRY_EVENT_CORPUS") or REPO / ".." / "shared" / "events").resolve()
SAMPLES = sorted(CORPUS.rglob("*.json")) if CORPUS.is_dir() else []

# Reasons a rejected sample may give: each names what was wrong, never a generic failure.
SPECIFIC = re.compile(
    r"not JSON|not an S3, SNS, SQS or EventBridge event|is not processed \(only|"
    r"is not a valid S3 bucket name|unsupported event source|is not aws\.s3|"
    r"object key is missing|empty Records list|not an object|invalid UTF-8"
)
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def _sample_records(event: Any) -> int:
    records = event.get("Records") if isinstance(event, dict) else None
    return len(records) if isinstance(records, list) else 1


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"event corpus not present at {CORPUS}")
@pytest.mark.parametrize("sample", SAMPLES, ids=[_id(p) for p in SAMPLES])
def test_sample_is_parsed_or_rejected_specifically(sample: Path) -> None:
    event = json.loads(sample.read_text())
    result = object_refs(event)
    for ref in result.refs:
        assert BUCKET.match(ref.bucket), ref
        assert ref.key
        assert ref.size is None or ref.size >= 0
        assert ref.ledger_id.startswith(f"s3://{ref.bucket}/")
        if event.get("Records") and event["Records"][0].get("eventSource") == "aws:sqs":
            assert ref.message_id, "refs from SQS carry the message id for batchItemFailures"
    for bad in result.bad:
        assert SPECIFIC.search(bad.reason), f"{_id(sample)}: unspecific reason {bad.reason!r}"
    handled = len(result.refs) + len(result.bad) + len(result.ignored)
    assert handled >= 1, f"{_id(sample)}: nothing parsed and nothing rejected"
    if _sample_records(event) > 1 and event["Records"][0].get("eventSource") == "aws:sqs":
        accounted = {r.message_id for r in result.refs}
        accounted |= {b.message_id for b in result.bad} | set(result.ignored)
        assert accounted == {r["messageId"] for r in event["Records"]}, "no message dropped"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"event corpus not present at {CORPUS}")
def test_corpus_covers_every_delivery_path() -> None:
    """The shapes ferry promises to read all occur in the corpus and all parse."""
    parsed = {_id(p): object_refs(json.loads(p.read_text())) for p in SAMPLES}
    expected = {
        "S3 direct": "powertools-python/s3Event.json",
        "S3 via SQS": "powertools-python-pr4069/sqs_s3_event.json",
        "S3 via SNS (Lambda)": "powertools-python-pr4069/sns_s3_event.json",
        "S3 via SNS via SQS": "powertools-python-pr4069/sqs_sns_s3_event.json",
        "S3 via SNS raw via SQS": "powertools-python-pr4069/sqs_rawsns_s3_event.json",
        "EventBridge direct": "powertools-python-pr4069/eb_s3_event.json",
        "EventBridge via SQS": "powertools-python-pr4069/sqs_eb_s3_event.json",
    }
    for shape, name in expected.items():
        if name in parsed:
            assert parsed[name].refs, f"{shape} ({name}) produced no refs"
            assert not parsed[name].bad, f"{shape} ({name}): {parsed[name].bad}"
    decoded = parsed.get("aws-lambda-go/s3-event.json")
    if decoded is not None:
        assert [r.key for r in decoded.refs] == ["Happy Face.jpg"]
