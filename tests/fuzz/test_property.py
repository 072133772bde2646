"""The property, fuzzed: a problem in a file ends in one terminal state on the first delivery.

For generated CSV files, JSON records and documents, and events (hypothesis, a
bounded number of examples, derandomized under CI so every run is the same):

* the first delivery ends the object in exactly one terminal ledger state
  (``loaded`` or ``rejected``; ``failed`` for a message that names no object),
  the message is acknowledged, and a rejection's reason says where the problem is;
* a transient fault injected on the first delivery hands the message back; the
  redelivery reaches a terminal state and what loads, loads exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.processors.conftest import Stack

pytestmark = [pytest.mark.moto]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
FUZZ = settings(
    deadline=None,
    derandomize=IN_CI or not os.environ.get("FERRY_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: A rejection's reason names where: a line, a record, a JSON path, a byte offset, or the file.
WHERE = re.compile(
    r"line \d+|\[\d+\]|\$|offset \d+|file is empty|only whitespace|holds no records"
    r"|too large|header"
)
TS = "2026-11-24T04:00:00Z"


@contextmanager
def fault(client: Any, operation: str, code: str, status: int, times: int) -> Iterator[list[int]]:
    """``client`` answers ``operation`` with an AWS error for the first ``times`` calls."""
    calls: list[int] = []

    def answer(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        if len(calls) >= times:
            return None
        calls.append(1)
        http = type("Http", (), {"status_code": status, "headers": {}})()
        error = {"Code": code, "Message": "injected by the test"}
        return http, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}

    event = f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}"
    client.meta.events.register(event, answer)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, answer)


def first_delivery(stack: Stack, key: str, body: bytes) -> tuple[Any, dict[str, Any]]:
    ref = stack.put(key, body)
    response = stack.run(stack.event(ref))
    assert response["batchItemFailures"] == [], "a file's problem is never retried"
    item = stack.ledger(ref)
    assert item is not None
    assert item["status"] in {"loaded", "rejected"}, item
    if item["status"] == "rejected":
        assert WHERE.search(item["reason"]), item["reason"]
        assert stack.failed_sidecar(ref.key)["ledger_id"] == ref.ledger_id
    return ref, item


def loaded_items(stack: Stack, ledger_id: str) -> list[dict[str, Any]]:
    return [i for i in stack.scan(stack.records) if i.get("ingested_from") == ledger_id]


# --- JSON records --------------------------------------------------------------------------------

_metric = st.one_of(
    st.integers(-(10**40), 10**40),
    st.decimals(allow_nan=False, allow_infinity=False)
    .map(str)
    .map(lambda s: json.loads(s) if "E" not in s.upper() else 1),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
)


@st.composite
def record_line(draw: st.DrawFn, device: int) -> str:
    kind = draw(
        st.sampled_from(["good", "good", "good", "schema", "number", "syntax", "dup", "nan"])
    )
    metrics = draw(
        st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), _metric, min_size=1, max_size=4)
    )
    record = {"device_id": f"dev-{device}", "timestamp": TS, "metrics": metrics}
    if kind == "schema":
        record.pop(draw(st.sampled_from(["device_id", "metrics"])))
    elif kind == "number":
        record["metrics"]["n"] = draw(st.sampled_from([10**40, "1E+200", "1E-200"]))
    text = json.dumps(record, default=str)
    if kind == "number":
        text = text.replace('"1E+200"', "1E+200").replace('"1E-200"', "1E-200")
    if kind == "syntax":
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif kind == "dup":
        text = text[:-1] + ', "device_id": "again"}'
    elif kind == "nan":
        text = text.replace('"metrics": {', '"metrics": {"v": NaN, ', 1)
    return text


@st.composite
def json_records_file(draw: st.DrawFn) -> tuple[str, bytes]:
    n = draw(st.integers(0, 12))
    lines = [draw(record_line(i)) for i in range(n)]
    if draw(st.booleans()):
        return "incoming/telemetry/f.jsonl", "\n".join(lines).encode()
    body = "[" + ",\n".join(lines) + "]"
    if draw(st.booleans()) and body:  # a hostile byte somewhere
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(["\x00", "]", "{", '"', "\udc80"])) + body[at:]
    return "incoming/telemetry/f.json", body.encode("utf-8", "surrogateescape")


@settings(FUZZ, max_examples=25)
@given(case=json_records_file())
def test_json_records_end_in_one_terminal_state(stack: Stack, case: tuple[str, bytes]) -> None:
    key, body = case
    ref, item = first_delivery(stack, key.replace("f.", f"{uuid.uuid4().hex}."), body)
    items = loaded_items(stack, ref.ledger_id)
    if item["status"] == "loaded":
        assert len(items) == item["counts"]["records_loaded"]
    else:
        assert items == [], "a rejected file writes nothing"


@settings(FUZZ, max_examples=8)
@given(case=json_records_file(), failures=st.integers(1, 3))
def test_json_records_transient_fault_then_exactly_once(
    stack: Stack, case: tuple[str, bytes], failures: int
) -> None:
    key, body = case
    ref = stack.put(key.replace("f.", f"{uuid.uuid4().hex}."), body)
    with fault(stack.s3, "GetObject", "SlowDown", 503, failures):
        first = stack.run(stack.event(ref))
    assert [f["itemIdentifier"] for f in first["batchItemFailures"]] == [ref.message_id]
    assert stack.ledger(ref)["status"] == "in_progress"
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    item = stack.ledger(ref)
    assert item["status"] in {"loaded", "rejected"}
    assert item["attempt"] == 2
    assert stack.run(stack.event(ref))["batchItemFailures"] == []  # a duplicate delivery
    items = loaded_items(stack, ref.ledger_id)
    expected = item["counts"].get("records_loaded", 0) if item["status"] == "loaded" else 0
    assert len(items) == expected


# --- JSON documents -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(FUZZ, max_examples=15)
@given(
    document=st.fixed_dictionaries(
        {"mission": st.text(max_size=5), "source": st.sampled_from(["OSINT", "RUMINT"])},
        optional={
            "confidence": st.sampled_from(
                ["0.5", "1.5", "1e400", "NaN", "0.1000000000000000055511151231257827"]
            ),
            "extra": _json,
        },
    ),
    cut=st.one_of(st.none(), st.integers(0, 40)),
)
def test_json_documents_end_in_one_terminal_state(
    stack: Stack, document: dict[str, Any], cut: int | None
) -> None:
    confidence = document.pop("confidence", None)
    text = json.dumps(document)
    if confidence is not None:
        text = text[:-1] + f', "confidence": {confidence}}}'
    if cut is not None:
        text = text[:cut]
    _ref, item = first_delivery(stack, f"incoming/reports/{uuid.uuid4().hex}.json", text.encode())
    if item["status"] == "loaded":
        out = stack.s3.get_object(Bucket=stack.processed, Key=item["outputs"][0].split("/", 3)[3])
        written = out["Body"].read().decode()
        assert "Infinity" not in written
        assert "NaN" not in written
        assert f'"confidence": {confidence}' in written


# --- events -----------------------------------------------------------------------------------


@st.composite
def sqs_event(draw: st.DrawFn) -> dict[str, Any]:
    bodies = draw(
        st.lists(
            st.one_of(
                _json.map(json.dumps),
                st.text(max_size=20),
                st.just(
                    json.dumps(
                        {
                            "Records": [
                                {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete"}
                            ]
                        }
                    )
                ),
                st.just(json.dumps({"Type": "Notification", "Message": 5})),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return {
        "Records": [
            {
                "messageId": f"m-{uuid.uuid4()}",
                "body": b,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ferry-test",
            }
            for b in bodies
        ]
    }


@settings(FUZZ, max_examples=20)
@given(event=sqs_event())
def test_bad_events_are_recorded_once_and_acknowledged(stack: Stack, event: dict[str, Any]) -> None:
    response = stack.run(event)
    assert response["batchItemFailures"] == []
    for record in event["Records"]:
        ledger_id = f"sqs://{record['eventSourceARN']}#{record['messageId']}"
        item = stack.runtime.ledger.get(ledger_id)
        if item is not None:  # a message that named no object
            assert item["status"] == "failed"
            assert item["reason"]


# --- CSV ----------------------------------------------------------------------------------------

HEADER = "order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date"
_ids = itertools.count(1_000_000, 1_000)


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    first = next(_ids)
    lines = []
    for i in range(draw(st.integers(0, 30))):
        kind = draw(
            st.sampled_from(["good"] * 6 + ["value", "quote", "formula", "fields", "blank"])
        )
        note = {"quote": '"never closed', "formula": "=1+2"}.get(kind, "n")
        quantity = "x" if kind == "value" else "2"
        row = f"{first + i},ann,{note},{TS},12.50,{quantity},paid,false,2026-11-30"
        lines.append({"fields": f"{first + i},ann", "blank": ""}.get(kind, row))
    header = draw(st.sampled_from([HEADER, HEADER, HEADER.upper(), "id,who", "", " "]))
    return (
        ("\n".join([header, *lines]) + "\n").encode()
        if header.strip() or lines
        else header.encode()
    )


def csv_rows(conn: psycopg.Connection, ledger_key: str) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(rows_loaded), 0), count(*) FROM ferry.loads WHERE key = %s",
        (ledger_key,),
    ).fetchone()
    assert row is not None
    assert row[1] <= 1, "one load record per object version"
    return int(row[0])


@pytest.mark.postgres
@settings(FUZZ, max_examples=12)
@given(body=csv_file(), transient=st.booleans())
def test_csv_ends_in_one_terminal_state_and_loads_once(
    csv_stack: Stack, pg_conn: psycopg.Connection, body: bytes, transient: bool
) -> None:
    key = f"incoming/orders/{uuid.uuid4().hex}.csv"
    if not transient:
        ref, item = first_delivery(csv_stack, key, body)
    else:
        ref = csv_stack.put(key, body)
        with fault(csv_stack.s3, "GetObject", "InternalError", 500, 1):
            first = csv_stack.run(csv_stack.event(ref))
        assert [f["itemIdentifier"] for f in first["batchItemFailures"]] == [ref.message_id]
        assert csv_stack.run(csv_stack.event(ref))["batchItemFailures"] == []
        item = csv_stack.ledger(ref)
        assert item["status"] in {"loaded", "rejected"}
    assert csv_stack.run(csv_stack.event(ref))["batchItemFailures"] == []  # duplicate
    loaded = csv_rows(pg_conn, key)
    if item["status"] == "loaded":
        assert loaded == item["counts"]["rows_loaded"]
    else:
        assert WHERE.search(item["reason"]), item["reason"]
        assert loaded == 0
