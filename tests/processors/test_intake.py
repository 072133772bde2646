"""Intake: every event shape -> ObjectRefs, URL decoding, and specific errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ferry.intake import object_refs
from ferry.model import ObjectRef
from tests.processors.conftest import FIXTURES


def s3_record(key: str, *, name: str = "ObjectCreated:Put", bucket: str = "raw-bucket") -> dict:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": "2026-11-24T04:00:00.000Z",
        "eventName": name,
        "s3": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "eTag": "abc", "versionId": "v1", "sequencer": "01"},
        },
    }


def sqs(*bodies: str, source_arn: str = "arn:aws:sqs:eu-west-1:1:q") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "body": body,
                "eventSource": "aws:sqs",
                "eventSourceARN": source_arn,
            }
            for i, body in enumerate(bodies)
        ]
    }


def sns_envelope(message: str) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "sns-1", "Message": message})


def eventbridge(key: str) -> dict[str, Any]:
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2026-11-24T04:01:00Z",
        "detail": {
            "bucket": {"name": "raw-bucket"},
            "object": {"key": key, "size": 5, "etag": "e", "version-id": "v9", "sequencer": "02"},
        },
    }


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("plain/key.json", "plain/key.json"),
        ("a+b.json", "a b.json"),
        ("a%2Bb.json", "a+b.json"),
        ("caf%C3%A9.json", "café.json"),
        ("100%25.json", "100%.json"),
        ("dir%2Fsub/x%3Dy%26z.json", "dir/sub/x=y&z.json"),
        ("%E2%9C%93+ok", "✓ ok"),
    ],
)
def test_s3_keys_are_url_decoded(encoded: str, decoded: str) -> None:
    (ref,) = object_refs({"Records": [s3_record(encoded)]}).refs
    assert ref.key == decoded


def test_key_decoding_to_invalid_utf8_is_an_error() -> None:
    result = object_refs(sqs(json.dumps({"Records": [s3_record("bad%FF.json")]})))
    assert result.refs == []
    assert "invalid UTF-8" in result.bad[0].reason


def test_s3_notification_in_sqs_carries_every_field() -> None:
    result = object_refs(sqs(json.dumps({"Records": [s3_record("k+1.json")]})))
    assert result.refs == [
        ObjectRef(
            bucket="raw-bucket",
            key="k 1.json",
            version_id="v1",
            size=10,
            etag="abc",
            sequencer="01",
            event_time="2026-11-24T04:00:00.000Z",
            message_id="m0",
        )
    ]
    assert result.refs[0].ledger_id == "s3://raw-bucket/k 1.json#v1"


def test_sns_enveloped_and_raw_delivery_are_unwrapped() -> None:
    notification = json.dumps({"Records": [s3_record("x%20y.json")]})
    enveloped = object_refs(sqs(sns_envelope(notification))).refs
    raw = object_refs(sqs(notification)).refs
    assert [r.key for r in enveloped] == [r.key for r in raw] == ["x y.json"]


def test_lambda_sns_event_is_unwrapped() -> None:
    notification = json.dumps({"Records": [s3_record("a.json")]})
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": notification}}]}
    assert [r.key for r in object_refs(event).refs] == ["a.json"]


def test_eventbridge_keys_are_kept_literally() -> None:
    (direct,) = object_refs(eventbridge("a+b%20c.pdf")).refs
    assert direct.key == "a+b%20c.pdf"
    assert direct.version_id == "v9"
    assert direct.event_time == "2026-11-24T04:01:00Z"
    (via_sqs,) = object_refs(sqs(json.dumps(eventbridge("a+b.pdf")))).refs
    assert via_sqs.key == "a+b.pdf"
    assert via_sqs.message_id == "m0"


def test_project_fixtures_parse() -> None:
    sqs_event = json.loads((FIXTURES / "sqs_s3_notification.json").read_text())
    result = object_refs(sqs_event)
    assert [r.key for r in result.refs] == ["incoming/reports/Q4 report (final)+é.json"]
    assert result.ignored == ["9a3e1b52-7d7b-4f3f-8f16-0c7f5b0d2c22"]  # s3:TestEvent
    assert result.bad == []
    eb = json.loads((FIXTURES / "eventbridge_object_created.json").read_text())
    assert [r.key for r in object_refs(eb).refs] == ["incoming/documents/a+b%20c.pdf"]


def test_multiple_records_and_messages() -> None:
    body = json.dumps({"Records": [s3_record("a"), s3_record("b")]})
    result = object_refs(sqs(body, json.dumps({"Records": [s3_record("c")]})))
    assert [(r.key, r.message_id) for r in result.refs] == [("a", "m0"), ("b", "m0"), ("c", "m1")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON"),
        ("[1, 2]", "JSON list, not an object"),
        ('{"hello": "world"}', "not an S3, SNS, SQS or EventBridge event (keys: hello)"),
        ('{"Records": []}', "empty Records list"),
        ('{"Records": [{"eventSource": "aws:kinesis"}]}', "unsupported event source 'aws:kinesis'"),
        (json.dumps({"Records": [s3_record("k", name="ObjectRemoved:Delete")]}), "ObjectRemoved"),
        (json.dumps({"Records": [s3_record("k", bucket="Bad_Bucket")]}), "valid S3 bucket name"),
        (json.dumps({"Records": [s3_record("")]}), "object key is missing"),
        (json.dumps({"Records": [s3_record("k" * 1025)]}), "longer than 1024 bytes"),
        (sns_envelope("garbage"), "message body is not JSON"),
        ('{"Type": "Notification", "Message": 5}', "Message is not a string"),
        (json.dumps({**eventbridge("k"), "source": "aws.ec2"}), "'aws.ec2' is not aws.s3"),
        (json.dumps({**eventbridge("k"), "detail-type": "Object Deleted"}), "Object Deleted"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_messages_are_reported_per_message(body: str, reason: str) -> None:
    good = json.dumps({"Records": [s3_record("fine.json")]})
    result = object_refs(sqs(good, body))
    assert [r.key for r in result.refs] == ["fine.json"], "one bad message spoils nothing else"
    (bad,) = result.bad
    assert reason in bad.reason
    assert bad.message_id == "m1"
    assert bad.ledger_id == "sqs://arn:aws:sqs:eu-west-1:1:q#m1"
    assert len(bad.excerpt) <= 512


def test_deeply_wrapped_envelopes_are_refused() -> None:
    body = json.dumps({"Records": [s3_record("k")]})
    for _ in range(6):
        body = sns_envelope(body)
    (bad,) = object_refs(sqs(body)).bad
    assert "wrapped more deeply" in bad.reason


def test_test_event_is_ignored() -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "raw-bucket"})
    result = object_refs(sqs(body))
    assert (result.refs, result.bad, result.ignored) == ([], [], ["m0"])


def test_direct_invocation_with_garbage_is_one_bad_message() -> None:
    result = object_refs({"unexpected": True})
    assert result.refs == []
    assert result.bad[0].message_id is None


def test_bad_direct_events_get_distinct_stable_ledger_ids() -> None:
    first = object_refs({"unexpected": 1}).bad[0].ledger_id
    assert first == object_refs({"unexpected": 1}).bad[0].ledger_id
    assert first != object_refs({"unexpected": 2}).bad[0].ledger_id
    assert first.startswith("event://")
