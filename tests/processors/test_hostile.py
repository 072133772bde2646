"""Permanent problems are rejected at once with a reason; nothing changes silently.

Error classification (AWS error codes), keys and metadata ferry derives, DynamoDB's
item rules, exact JSON numbers and positions, and the streamed JSON records.
"""

from __future__ import annotations

import dataclasses
import io
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)

from ferry.aws import ObjectGone, Refused, ascii_metadata, classify, translate_errors
from ferry.itemcheck import ItemProblem, check_item, item_size, number_size
from ferry.jsondoc import JsonProblem, dumps_exact, loads
from ferry.jsonstream import Window, records
from ferry.model import ObjectRef, Transient
from ferry.processors.json_transform import output_key
from ferry.rejects import derived_key
from tests.processors.conftest import Stack, fixture_bytes

TS = "2026-11-24T04:00:00Z"


def record(device: str, **metrics: Any) -> dict[str, Any]:
    """A telemetry record the shipped schema accepts."""
    return {"device_id": device, "timestamp": TS, "metrics": metrics or {"n": 1}}


# --- 1. error classification ----------------------------------------------------------------


def client_error(code: str, status: int, message: str = "the service says no") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutObject")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, "transient"),
        ("ProvisionedThroughputExceededException", 400, "transient"),
        ("SlowDown", 503, "transient"),
        ("RequestTimeout", 400, "transient"),
        ("InternalError", 500, "transient"),
        ("ServiceUnavailable", 503, "transient"),
        ("KeyTooLongError", 400, "refused"),
        ("InvalidArgument", 400, "refused"),
        ("ValidationException", 400, "refused"),
        ("EntityTooLarge", 400, "refused"),
        ("AccessDenied", 403, "deployment"),
        ("KMS.DisabledException", 400, "deployment"),
        ("ResourceNotFoundException", 400, "deployment"),
        ("NoSuchKey", 404, "gone"),
    ],
)
def test_errors_are_classified_by_aws_error_code(code: str, status: int, kind: str) -> None:
    assert classify(code, status) == kind
    expected = {
        "transient": Transient,
        "deployment": Transient,
        "refused": Refused,
        "gone": ObjectGone,
    }[kind]
    with pytest.raises(expected), translate_errors("PutObject s3://b/k"):
        raise client_error(code, status)


def test_refusal_carries_the_service_message() -> None:
    with pytest.raises(Refused) as err, translate_errors("PutObject s3://b/k"):
        raise client_error("KeyTooLongError", 400, "Your key is too long")
    assert err.value.code == "KeyTooLongError"
    assert "Your key is too long" in str(err.value)


def test_requests_botocore_or_the_http_client_refuse_are_permanent() -> None:
    with pytest.raises(Refused, match="Non ascii"), translate_errors("PutObject"):
        raise ParamValidationError(report="Non ascii characters found in S3 metadata")
    with pytest.raises(Refused, match="Invalid header value"), translate_errors("PutObject"):
        raise HTTPClientError(error=ValueError("Invalid header value b'a\\nb'"))
    with pytest.raises(Transient), translate_errors("GetObject"):
        raise ReadTimeoutError(endpoint_url="http://s3")
    with pytest.raises(Transient), translate_errors("GetObject"):
        raise EndpointConnectionError(endpoint_url="http://s3")


@contextmanager
def answering(
    client: Any, operation: str, code: str, status: int, *, times: int = 1_000
) -> Iterator[list[int]]:
    """Make ``client`` answer ``operation`` with an AWS error ``times`` times."""
    calls: list[int] = []

    def answer(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        if len(calls) >= times:
            return None
        calls.append(1)
        http = type("Http", (), {"status_code": status, "headers": {}})()
        body = {"Error": {"Code": code, "Message": f"{code} from the test"}}
        return http, {**body, "ResponseMetadata": {"HTTPStatusCode": status}}

    event = f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}"
    client.meta.events.register(event, answer)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, answer)


def test_a_4xx_answer_rejects_the_file_at_once(stack: Stack) -> None:
    ref = stack.put("incoming/reports/r1.json", fixture_bytes("report_seed_001.json"))
    with answering(stack.s3, "PutObject", "KeyTooLongError", 400, times=1) as calls:
        response = stack.run(stack.event(ref))
    assert response["batchItemFailures"] == [], "a permanent answer is not retried"
    assert calls == [1]
    item = stack.ledger(ref)
    assert item["status"] == "rejected"
    assert "KeyTooLongError" in item["reason"]
    assert ref.key + ".error.json" in stack.failed_keys()


def test_throttling_is_retried_then_loads(stack: Stack) -> None:
    ref = stack.put("incoming/reports/r1.json", fixture_bytes("report_seed_001.json"))
    with answering(stack.s3, "PutObject", "SlowDown", 503, times=100):
        response = stack.run(stack.event(ref))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [ref.message_id]
    assert stack.ledger(ref)["status"] == "in_progress"
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    assert stack.ledger(ref)["status"] == "loaded"


def test_a_refused_batch_is_written_item_by_item_and_the_bad_record_named(stack: Stack) -> None:
    """Should DynamoDB refuse a batch the checks let through, the other records still load."""
    lines = [json.dumps(record(f"d{i}", n=i)) for i in range(30)]
    ref = stack.put("incoming/telemetry/t.jsonl", "\n".join(lines).encode())
    ddb = stack.ddb

    def refuse_d7(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        text = params["body"].decode() if isinstance(params["body"], bytes) else params["body"]
        if '"d7"' not in text:
            return None
        http = type("Http", (), {"status_code": 400, "headers": {}})()
        error = {"Code": "ValidationException", "Message": "Item is not valid"}
        return http, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    ddb.meta.events.register("before-call.dynamodb.BatchWriteItem", refuse_d7)
    ddb.meta.events.register("before-call.dynamodb.PutItem", refuse_d7)
    try:
        allow_invalid(stack, 0.5)
        response = stack.run(stack.event(ref))
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.BatchWriteItem", refuse_d7)
        ddb.meta.events.unregister("before-call.dynamodb.PutItem", refuse_d7)
    assert response["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "loaded", item
    assert item["counts"]["records_invalid"] == 1
    assert item["counts"]["records_loaded"] == 29
    assert len(stack.scan(stack.records)) == 29
    report = json.loads(
        stack.s3.get_object(Bucket=stack.failed, Key=ref.key + ".invalid-records.json")[
            "Body"
        ].read()
    )
    assert report["invalid"][0]["record"] == "line 8"
    assert "ValidationException" in report["invalid"][0]["message"]


def allow_invalid(stack: Stack, fraction: float) -> None:
    """Let the telemetry routes load files with up to ``fraction`` invalid records."""
    config = stack.runtime.config
    routes = tuple(
        dataclasses.replace(r, options={**r.options, "max_invalid_fraction": fraction})
        if r.processor == "json_records"
        else r
        for r in config.routes
    )
    stack.runtime.config = dataclasses.replace(config, routes=routes)


# --- 2. derived keys and metadata -------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 1000, 1013, 1014, 1024])
@pytest.mark.parametrize("char", ["a", "é", "😀"])
def test_derived_keys_always_fit_in_1024_bytes(length: int, char: str) -> None:
    key = (char * length).encode()[:1024].decode("utf-8", "ignore")
    for suffix in (".error.json", ".rejects.csv", ".invalid-records.json"):
        derived = derived_key(key, suffix)
        assert len(derived.encode()) <= 1024
        assert derived.endswith(suffix)
        if len((key + suffix).encode()) <= 1024:
            assert derived == key + suffix
        else:
            assert derived != derived_key(key[:-1] + "b", suffix), "distinct keys stay distinct"
    ref = ObjectRef(
        "b", key, version_id="3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
    )
    assert len(output_key(ref, "processed/").encode()) <= 1024


def test_long_keys_are_rejected_and_reported_within_s3_limits(stack: Stack) -> None:
    key = "incoming/reports/" + "é" * 500 + ".json"  # 1022 bytes: fits, its sidecar would not
    assert len(key.encode()) <= 1024 < len((key + ".error.json").encode())
    ref = stack.put(key, b'{"mission": "space"}')
    limit_hook = _key_limit(stack)
    try:
        response = stack.run(stack.event(ref))
    finally:
        stack.s3.meta.events.unregister("before-call.s3.PutObject", limit_hook)
    assert response["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "rejected"
    sidecars = [k for k in stack.failed_keys() if k.endswith(".error.json")]
    assert len(sidecars) == 1
    assert len(sidecars[0].encode()) <= 1024
    document = json.loads(stack.s3.get_object(Bucket=stack.failed, Key=sidecars[0])["Body"].read())
    assert document["source"]["key"] == key


def _key_limit(stack: Stack) -> Any:
    """S3's KeyTooLongError, which the emulator does not enforce."""

    def check(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        key = urllib.parse.unquote(params["url_path"].split("/", 2)[-1].split("?")[0])
        if len(key.encode()) <= 1024:
            return None
        http = type("Http", (), {"status_code": 400, "headers": {}})()
        error = {"Code": "KeyTooLongError", "Message": "Your key is too long"}
        return http, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    stack.s3.meta.events.register("before-call.s3.PutObject", check)
    return check


@pytest.mark.parametrize(
    "value",
    [
        "plain/key.json",
        "line\nbreak",
        "tab\there",
        "ctrl\x01\x7f",
        " edge ",
        "é😀",
        "%41",
        "x" * 5000,
    ],
)
def test_metadata_values_are_valid_header_values(value: str) -> None:
    encoded = ascii_metadata(value)
    assert len(encoded) <= 1000
    assert all(0x21 <= ord(c) <= 0x7E for c in encoded), encoded
    if len(value) < 300:
        assert urllib.parse.unquote(encoded) == value


def test_metadata_with_control_characters_is_written(stack: Stack) -> None:
    """A raw line break makes the HTTP client refuse the request; the encoded value goes."""
    with pytest.raises(Refused, match="header"):
        stack.runtime.s3.put(stack.failed, "k1", b"x", metadata={"m": "a\nb"})
    value = ascii_metadata("key/a\nb\x01 é")
    stack.runtime.s3.put(stack.failed, "k2", b"x", metadata={"m": value})
    head = stack.s3.head_object(Bucket=stack.failed, Key="k2")
    assert urllib.parse.unquote(head["Metadata"]["m"]) == "key/a\nb\x01 é"


# --- 3. DynamoDB's item rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "where", "message"),
    [
        ({"": 1}, "$", "attribute name is empty"),
        ({"a": {"": 1}}, "$.a", "attribute name is empty"),
        ({"a": "x\ud800y"}, "$.a", "lone surrogate"),
        ({"a": [{"b\udfff": 1}]}, "$.a[0].b\udfff", "lone surrogate"),
        ({"n": Decimal("1" * 39)}, "$.n", "39 significant digits"),
        ({"n": Decimal("1E+126")}, "$.n", "larger than DynamoDB's maximum"),
        ({"n": Decimal("-1E-131")}, "$.n", "smaller in magnitude"),
        ({"device_id": ""}, "$.device_id", "cannot be an empty string"),
        ({"device_id": "k" * 2049}, "$.device_id", "the limit is 2048"),
    ],
)
def test_items_dynamodb_refuses_are_named(item: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(ItemProblem) as err:
        check_item(item, ("device_id", "timestamp"))
    assert err.value.path == where
    assert message in err.value.message


def test_numbers_at_dynamodbs_limits_are_accepted() -> None:
    check_item({"a": Decimal("9.9999999999999999999999999999999999999E+125")})
    check_item({"a": Decimal("-1E-130"), "b": Decimal("0E-500"), "c": Decimal("1" * 38 + "000")})
    assert number_size(Decimal("12345")) == 4  # ceil(5 / 2) + 1
    assert number_size(Decimal("-12345")) == 5


def test_item_size_counts_names_and_per_element_overhead() -> None:
    assert item_size({"ab": "xyz"}) == 5
    assert item_size({"l": [1, "a"]}) == 1 + 3 + (1 + 2) + (1 + 1)
    assert item_size({"m": {"k": None}}) == 1 + 3 + (1 + 1 + 1)
    # Exactly at the limit (409 600 bytes) passes; one byte more is refused.
    base = {"device_id": "d", "timestamp": "t"}
    room = 400 * 1024 - item_size({**base, "s": ""})
    check_item({**base, "s": "x" * room})
    with pytest.raises(ItemProblem, match="409601 bytes"):
        check_item({**base, "s": "x" * (room + 1)})


def test_the_attributes_ferry_adds_count_toward_400_kb(stack: Stack) -> None:
    """A record that fits alone but not with ingested_from/ingested_at is invalid, not a stall."""
    base = record("d1", note="")
    room = 400 * 1024 - item_size(base)
    big = record("d1", note="x" * (room - 10))
    small = record("d2")
    ref = stack.put(
        "incoming/telemetry/big.jsonl", (json.dumps(big) + "\n" + json.dumps(small)).encode()
    )
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "rejected"
    assert "line 1 $: item is" in item["reason"]
    assert stack.scan(stack.records) == []


_BAD = '{"device_id": "a", "timestamp": "' + TS + '", "metrics": %s}'


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        (_BAD % '{"x": "\\ud800"}', "$.metrics.x"),
        (_BAD % '{"": 1}', "$.metrics"),
        (_BAD % '{"n": 1E-200}', "$.metrics.n"),
    ],
)
def test_a_bad_record_never_stalls_its_batch(stack: Stack, bad: str, path: str) -> None:
    good = [json.dumps(record(f"g{i}")) for i in range(24)]
    body = "\n".join([*good[:10], bad, *good[10:]]).encode()
    ref = stack.put("incoming/telemetry/mixed.jsonl", body)
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "loaded", item["reason"]  # the route allows 10% invalid
    assert (item["counts"]["records_loaded"], item["counts"]["records_invalid"]) == (24, 1)
    report_key = ref.key + ".invalid-records.json"
    report = json.loads(stack.s3.get_object(Bucket=stack.failed, Key=report_key)["Body"].read())
    assert [(d["record"], d["path"]) for d in report["invalid"]] == [("line 11", path)]
    assert len(stack.scan(stack.records)) == 24


# --- 5. JSON: exact numbers, repeated names, positions -----------------------------------------


def test_numbers_are_written_exactly(stack: Stack) -> None:
    body = (
        b'{"mission": "space", "source": "MASINT", "confidence": 0.95,'
        b' "big": 1e400, "precise": 0.1000000000000000055511151231257827,'
        b' "huge": 123456789012345678901234567890, "tiny": 1E-400, "neg": -0.0}'
    )
    ref = stack.put("incoming/reports/n.json", body)
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    out_key = f"processed/incoming/reports/n.{ref.version_id}.json"
    text = stack.s3.get_object(Bucket=stack.processed, Key=out_key)["Body"].read().decode()
    assert "Infinity" not in text
    assert '"big": 1E+400' in text
    assert '"precise": 0.1000000000000000055511151231257827' in text
    assert '"huge": 123456789012345678901234567890' in text
    assert '"tiny": 1E-400' in text
    assert '"neg": -0.0' in text
    assert dumps_exact(loads(text, max_depth=8)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1, "a": 2}', "$: member name 'a' appears twice"),
        ('{"a": [{"b": 1}, {"c": 1, "c": 2}]}', "$.a[1]: member name 'c' appears twice"),
        ('{"a":\n  NaN}', "line 2 column 3: NaN is not valid JSON"),
        ('{"s": "NaN", "a": -Infinity}', "line 1 column 19: -Infinity is not valid JSON"),
        ("[1,\n" + "9" * 5000 + "]", "line 2 column 1: integer of 5000 digits"),
    ],
)
def test_json_errors_say_where(text: str, reason: str) -> None:
    with pytest.raises(JsonProblem) as err:
        loads(text, max_depth=8)
    assert reason in err.value.reason
    assert "sys.set_int_max_str_digits" not in err.value.reason


def test_repeated_names_reject_the_record_with_its_path(stack: Stack) -> None:
    lines = [
        record("a"),
        f'{{"device_id": "b", "timestamp": "{TS}", "metrics": {{"t": 1, "t": 2}}}}',
    ]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    ref = stack.put("incoming/telemetry/dup.jsonl", body)
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "rejected"
    assert "line 2: $.metrics: member name 't' appears twice" in item["reason"]
    assert stack.scan(stack.records) == []


# --- 6. streaming ------------------------------------------------------------------------------


def _stream(data: bytes, chunk: int = 7, **kwargs: Any) -> list[tuple[str, Any]]:
    options = {"fmt": "auto", "max_depth": 16, "max_record_chars": 200, **kwargs}
    return list(records(io.BytesIO(data).read, chunk_size=chunk, **options))


@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 20])
def test_streamed_records_are_the_same_whatever_the_read_size(chunk: int) -> None:
    data = '[{"a": 1.50}, {"b": "é😀"},\n {"c": [1, 2]}]'.encode()
    assert _stream(data, chunk) == [
        ("[0]", {"a": Decimal("1.50")}),
        ("[1]", {"b": "é😀"}),
        ("[2]", {"c": [1, 2]}),
    ]
    lines = b'\xef\xbb\xbf{"a": 1}\r\n\n{"a": 2}\n'
    assert _stream(lines, chunk) == [("line 1", {"a": 1}), ("line 3", {"a": 2})]
    envelope = b'{"meta": {"x": [1]}, "records": [{"a": 1}], "n": 2}'
    assert _stream(envelope, chunk) == [("[0]", {"a": 1})]


def test_stream_errors_carry_line_column_and_record_index() -> None:
    with pytest.raises(JsonProblem, match=r"record \[2\]: invalid JSON at line 3 column 2"):
        _stream(b'[{"a": 1},\n {"a": 2},\n ,]')
    with pytest.raises(JsonProblem, match="byte 0xff at offset 9"):
        _stream(b'[{"a": "x\xff"}]')
    found = _stream(b'{"a": 1}\n{"a": 1, "a": 2}\n' + b'{"a": "' + b"x" * 300 + b'"}\n{"a": 3}')
    assert [loc for loc, _ in found] == ["line 1", "line 2", "line 3", "line 4"]
    assert isinstance(found[1][1], JsonProblem)
    assert "appears twice" in found[1][1].reason
    assert isinstance(found[2][1], JsonProblem)
    assert "longer than 200" in found[2][1].reason
    assert found[3][1] == {"a": 3}


def test_stream_memory_is_bounded_by_the_window() -> None:
    record = json.dumps({"device_id": "d", "v": "x" * 100}) + "\n"
    data = (record * 20_000).encode()  # ~2.4 MB
    window = Window(io.BytesIO(data).read, chunk_size=4096)
    found = list(
        records(io.BytesIO().read, fmt="lines", max_depth=8, max_record_chars=1000, window=window)
    )
    assert len(found) == 20_000
    assert window.max_buffer < 3 * 4096 + 1000


def test_json_records_do_not_read_whole_objects(stack: Stack) -> None:
    """The whole-object read (S3.read) is never used, and the old 100 MB cap does not apply."""
    rt = stack.runtime
    rt.config = dataclasses.replace(
        rt.config, limits=dataclasses.replace(rt.config.limits, max_object_bytes=10)
    )
    ref = stack.put("incoming/telemetry/t.json", fixture_bytes("telemetry_seed_003.json"))

    def refuse(*_: Any, **__: Any) -> bytes:
        raise AssertionError("json_records read the whole object")

    rt.s3.read = refuse  # type: ignore[method-assign]
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    assert stack.ledger(ref)["status"] == "loaded"


def test_numbers_with_trailing_zeros_past_38_digits_are_stored(stack: Stack) -> None:
    """DynamoDB keeps 38 significant digits; boto3's own context would trap these."""
    from ferry.aws import DynamoDB

    ddb = DynamoDB(stack.ddb)
    item = {"device_id": "z", "timestamp": TS, "a": 10**40, "b": Decimal("1." + "0" * 45)}
    check_item(item)
    ddb.put_item(stack.records, item)
    (stored,) = stack.scan(stack.records)
    assert (stored["a"], stored["b"]) == (10**40, 1)


def test_a_lone_surrogate_in_a_member_name_is_reported_not_retried(stack: Stack) -> None:
    """Paths and reasons naming it still reach the ledger and the failed bucket."""
    good = [json.dumps(record(f"g{i}")) for i in range(19)]
    bad = _BAD % '{"\\udc80name": 1}'
    ref = stack.put("incoming/telemetry/surrogate.jsonl", "\n".join([bad, *good]).encode())
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "loaded"
    assert item["counts"]["records_invalid"] == 1
    assert "\\udc80name" in item["details"][0]["path"]
    report_key = ref.key + ".invalid-records.json"
    report = json.loads(stack.s3.get_object(Bucket=stack.failed, Key=report_key)["Body"].read())
    assert report["invalid"][0]["path"] == "$.metrics.\udc80name"


def test_duplicate_keys_are_counted_exactly_and_the_last_wins(stack: Stack) -> None:
    lines = [record(d, n=i) for i, d in enumerate(["d1", "d2", "d1", "d3", "d1"])]
    body = "\n".join(json.dumps(x) for x in lines * 6).encode()  # across batches of 25 too
    ref = stack.put("incoming/telemetry/dups.jsonl", body)
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] == "loaded"
    assert (item["counts"]["records_loaded"], item["counts"]["duplicates"]) == (3, 27)
    stored = {i["device_id"]: i["metrics"]["n"] for i in stack.scan(stack.records)}
    assert stored == {"d1": 4, "d2": 1, "d3": 3}


def test_the_key_filter_is_exact_despite_false_positives() -> None:
    from ferry.processors.json_records import KeyFilter

    keys = KeyFilter(0)
    keys.bits, keys._array = 64, bytearray(8)  # tiny: most keys collide
    sequence = [(f"k{i % 40}",) for i in range(100)]
    for key in sequence:
        keys.add(key)
    for key in sequence:
        keys.count(key)
    assert keys.duplicates == 60
