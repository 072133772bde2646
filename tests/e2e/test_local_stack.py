"""End to end on the local stack: every sample type reaches its sink, nothing is
lost in a burst, and injected faults (duplicates, crashes, poison files, a
database outage, a visibility timeout shorter than processing) end with zero
duplicated rows and zero lost files."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from ferry_dev.local import LOCAL_MAX_OBJECT_BYTES, Stack
from ferry_dev.report import (
    all_ledger_items,
    count_postgres_rows,
    ledger_items,
    loaded_count,
    print_summary,
    reject_count,
)
from ferry_dev.samples import build_samples, orders_csv, telemetry, upload, wait_terminal
from tests.e2e.conftest import (
    E2E_GROUP,
    deadletter_handler,
    environment_handler,
    ledger,
    orders_dataset,
    orders_rows,
    pollers,
    put,
    queue_total,
    set_queue,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(E2E_GROUP)]

TERMINAL = {"loaded", "rejected", "dead_lettered"}


def _first_id() -> int:
    return int(time.time() * 1000) % 10**12 * 1000


def test_every_sample_type_reaches_its_sink(stack: Stack, run_id: str, capsys):
    """The `make local` path: background worker processes, the sample set, the summary."""
    config = json.loads(stack.config_path.read_text())
    samples = build_samples(config, run_id, LOCAL_MAX_OBJECT_BYTES)
    kinds = {s.name for s in samples}
    assert {"valid CSV", "CSV with bad rows", "JSON records", "invalid JSON"} <= kinds
    assert {"JSON to transform", "PDF document", "PNG image", "oversize file"} <= kinds
    stack.start_workers(2)
    uploads = upload(stack, samples)
    items = wait_terminal(stack, uploads, timeout=120, progress=False)
    problems = print_summary(stack, uploads=uploads, items=items)
    out = capsys.readouterr().out
    assert problems == [], out
    by_name = {u.sample.name: items[u.candidates[1]] for u in uploads}

    csv = by_name["valid CSV"]
    assert csv["status"] == "loaded"
    assert int(csv["counts"]["rows_loaded"]) == 200
    assert any(o.startswith("postgresql:sales.orders#load=") for o in csv["outputs"])
    bad = by_name["CSV with bad rows"]
    assert (loaded_count(bad), reject_count(bad)) == (498, 2)
    assert any(
        o.startswith("s3://" + stack.outputs["bucket_names"]["failed"]) for o in bad["outputs"]
    )

    records = by_name["JSON records"]
    assert int(records["counts"]["records_loaded"]) == 60
    ddb = stack.client("dynamodb")
    got = ddb.query(
        TableName=stack.outputs["table_names"]["records"],
        KeyConditionExpression="device_id = :d",
        ExpressionAttributeValues={":d": {"S": f"sensor-{run_id}-0"}},
        Select="COUNT",
    )
    assert got["Count"] == 12  # 60 records over 5 devices

    assert by_name["invalid JSON"]["status"] == "rejected"
    assert by_name["oversize file"]["status"] == "rejected"
    assert "byte" in str(by_name["oversize file"].get("reason", "")).lower()

    transformed = by_name["JSON to transform"]["outputs"][0]
    assert transformed.startswith("s3://" + stack.outputs["bucket_names"]["processed"])
    bucket, key = transformed[5:].split("/", 1)
    body = json.loads(stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert f"local-{run_id}" in json.dumps(body)

    for name in ("PDF document", "PNG image"):
        assert by_name[name]["status"] == "loaded"
        assert any(o.startswith("dynamodb:") for o in by_name[name]["outputs"])
    assert "dead-lettered 0" in out


def test_burst_of_1000_files_nothing_lost(stack: Stack, run_id: str):
    dataset = orders_dataset(stack)
    first = _first_id()
    files: list[tuple[str, bytes, str]] = []
    expected_rows = 0
    for n in range(1000):
        kind = n % 4
        if kind == 0:
            files.append(
                (
                    f"incoming/orders/{run_id}/burst-{n}.csv",
                    orders_csv(dataset, 5, first + n * 10),
                    "csv",
                )
            )
            expected_rows += 5
        elif kind == 1:
            body = json.dumps(telemetry(f"{run_id}-{n}", 3)).encode()
            files.append((f"incoming/telemetry/{run_id}/burst-{n}.json", body, "json"))
        elif kind == 2:
            files.append(
                (f"incoming/documents/{run_id}/burst-{n}.txt", f"note {n}\n".encode(), "doc")
            )
        else:  # every fourth file is bad: rejected, and still accounted for
            files.append((f"incoming/telemetry/{run_id}/burst-{n}.json", b"{not json", "bad"))
    stack.start_workers(2)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: put(stack, f[0], f[1]), files))
    raw = stack.outputs["bucket_names"]["raw"]
    ids = [f"s3://{raw}/{key}#null" for key, _, _ in files]

    def all_terminal() -> bool:
        # The queue is cheap to ask; 1,000 consistent ledger reads are not.
        if queue_total(stack) != 0:
            return False
        items = ledger_items(stack, ids)
        return len(items) == len(ids) and all(i["status"] in TERMINAL for i in items.values())

    wait_for(all_terminal, timeout=900, what="1,000 files to reach a terminal state", interval=3)
    elapsed = time.monotonic() - started
    items = ledger_items(stack, ids)
    statuses = [items[i]["status"] for i in ids]
    assert statuses.count("loaded") == 750, f"{elapsed:.0f}s"
    assert statuses.count("rejected") == 250
    # exactly one ledger record per object: the scan finds no other record for these keys
    scanned = [i for i in all_ledger_items(stack) if f"/{run_id}/burst-" in str(i["ledger_id"])]
    assert sorted(i["ledger_id"] for i in scanned) == sorted(ids)
    # sinks agree with the ledger
    assert orders_rows(stack, first, first + 10_000) == expected_rows
    assert (
        sum(loaded_count(items[i]) for i, f in zip(ids, files, strict=True) if f[2] == "csv")
        == expected_rows
    )
    with psycopg.connect(stack.postgres().dsn(tcp=False), autocommit=True) as conn:
        loads = conn.execute(
            "SELECT count(*), sum(rows_loaded) FROM ferry.loads WHERE key LIKE %s",
            (f"incoming/orders/{run_id}/burst-%",),
        ).fetchone()
    assert loads == (250, expected_rows)
    ddb = stack.client("dynamodb")
    json_items = sum(
        ddb.query(
            TableName=stack.outputs["table_names"]["records"],
            KeyConditionExpression="device_id = :d",
            ExpressionAttributeValues={":d": {"S": f"sensor-{run_id}-{n}-{d}"}},
            Select="COUNT",
        )["Count"]
        for n in range(1, 1000, 4)
        for d in range(3)
    )
    assert json_items == 250 * 3
    failed = stack.client("s3").list_objects_v2(
        Bucket=stack.outputs["bucket_names"]["failed"], Prefix=f"incoming/telemetry/{run_id}/"
    )
    assert {o["Key"].split("/")[-1] for o in failed.get("Contents", [])} >= {
        f"burst-{n}.json" for n in range(3, 1000, 4)
    }
    assert queue_total(stack) == 0
    assert queue_total(stack, "dlq_url") == 0


def test_duplicate_delivery_loads_once(stack: Stack, run_id: str):
    first = _first_id()
    key = f"incoming/orders/{run_id}/dup.csv"
    put(stack, key, orders_csv(orders_dataset(stack), 50, first))
    sqs = stack.client("sqs")
    url = stack.outputs["queue_url"]
    wait_for(lambda: queue_total(stack) == 1, 10, "the S3 event")
    message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    for _ in range(2):  # the same event delivered twice more: three copies in all
        sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
    with pollers(stack, [environment_handler()], batch_size=1):
        wait_for(lambda: queue_total(stack) == 0, 60, "all three deliveries to be acknowledged")
    item = ledger(stack, stack.outputs["bucket_names"]["raw"], key)
    assert item is not None
    assert item["status"] == "loaded"
    assert int(item["attempt"]) == 1
    assert orders_rows(stack, first, first + 49) == 50


class InjectedKill(BaseException):
    """The execution environment dies (no exception handler in the function runs)."""


def test_crash_mid_copy_then_redelivery_loads_once(stack: Stack, run_id: str, monkeypatch):
    first = _first_id()
    key = f"incoming/orders/{run_id}/crash.csv"
    original = psycopg.Copy.write
    kills = {"left": 1}

    def write(self: Any, buffer: Any) -> None:
        original(self, buffer)  # rows are on their way into the table ...
        if kills["left"]:
            kills["left"] -= 1
            raise InjectedKill("killed mid-COPY")

    monkeypatch.setattr(psycopg.Copy, "write", write)
    crashes: list[str] = []

    def dying_environment() -> Any:
        handler = environment_handler()

        def invoke(event: dict[str, Any], context: Any) -> Any:
            try:
                return handler(event, context)
            except InjectedKill as err:
                crashes.append(str(err))
                raise RuntimeError("execution environment died") from None

        return invoke

    # Redelivered every 2 s; the dead environment's claim lives until its
    # deadline (the 15 s function timeout), so allow enough receives.
    set_queue(stack, visibility=2, max_receive=30)
    put(stack, key, orders_csv(orders_dataset(stack), 300, first))
    with pollers(stack, [dying_environment()], batch_size=1):
        wait_for(
            lambda: (
                (ledger(stack, stack.outputs["bucket_names"]["raw"], key) or {}).get("status")
                == "loaded"
            ),
            90,
            "the redelivered file to load",
        )
    assert crashes == ["killed mid-COPY"]
    item = ledger(stack, stack.outputs["bucket_names"]["raw"], key)
    assert item is not None
    assert int(item["attempt"]) == 2  # the dead claim expired and the object was claimed again
    assert orders_rows(stack, first, first + 299) == 300


def test_poison_file_ends_in_the_dlq_and_the_ledger_says_so(stack: Stack, run_id: str, monkeypatch):
    from ferry.model import Transient
    from ferry.processors import json_records

    key = f"incoming/telemetry/{run_id}/poison.json"
    original = json_records.JsonRecordsProcessor
    run = original.run

    def always_transient(self: Any, ref: Any, ctx: Any) -> Any:
        if ref.key == key:
            raise Transient("throttled (injected): DynamoDB keeps refusing this file")
        return run(self, ref, ctx)

    monkeypatch.setattr(original, "run", always_transient)
    set_queue(stack, visibility=1, max_receive=3)
    put(stack, key, json.dumps(telemetry(run_id, 3)).encode())
    with (
        pollers(stack, [environment_handler()], batch_size=1) as (source,),
        pollers(stack, [deadletter_handler(stack)], queue="dlq_url", role="deadletter") as (dlq,),
    ):
        wait_for(
            lambda: (
                (ledger(stack, stack.outputs["bucket_names"]["raw"], key) or {}).get("status")
                == "dead_lettered"
                and queue_total(stack, "dlq_url") == 0
            ),
            60,
            "the poison file to be dead-lettered by the DLQ consumer",
        )
    item = ledger(stack, stack.outputs["bucket_names"]["raw"], key)
    assert item is not None
    assert "dead-lettered" in item["reason"]
    assert "throttled (injected)" in item["reason"]
    assert item["attempt"] == 3  # the processor's claims
    assert item["route"] == "telemetry"
    assert source.invocations == 3  # maxReceiveCount deliveries, then the DLQ
    assert dlq.invocations >= 1
    assert queue_total(stack) == 0
    assert "dead_lettered_at" in item


def test_database_outage_retries_then_loads_once(stack: Stack, run_id: str):
    first = _first_id()
    key = f"incoming/orders/{run_id}/outage.csv"
    set_queue(stack, visibility=2, max_receive=20)
    stack.stop_postgres()
    try:
        put(stack, key, orders_csv(orders_dataset(stack), 100, first))
        with pollers(stack, [environment_handler()], batch_size=1) as (source,):
            wait_for(
                lambda: source.invocations >= 2,
                60,
                "two failed attempts while the database is down",
            )
            item = ledger(stack, stack.outputs["bucket_names"]["raw"], key)
            assert item is not None
            assert item["status"] == "in_progress"
            assert item.get("last_error")
            stack.start_postgres()
            wait_for(
                lambda: (
                    (ledger(stack, stack.outputs["bucket_names"]["raw"], key) or {}).get("status")
                    == "loaded"
                ),
                60,
                "the file to load once the database is back",
            )
    finally:
        if not stack.postgres_running():
            stack.start_postgres()
    assert orders_rows(stack, first, first + 99) == 100
    assert queue_total(stack) == 0


def test_visibility_timeout_shorter_than_processing_two_workers_race(stack: Stack, run_id: str):
    first = _first_id()
    key = f"incoming/orders/{run_id}/race.csv"
    seen: list[str] = []
    lock = threading.Lock()

    def slow_environment() -> Any:
        handler = environment_handler()

        def invoke(event: dict[str, Any], context: Any) -> Any:
            with lock:
                seen.extend(r["messageId"] for r in event["Records"])
            time.sleep(3)  # longer than the 1 s visibility timeout
            return handler(event, context)

        return invoke

    set_queue(stack, visibility=int(stack.outputs["visibility_timeout_seconds"]), max_receive=10)
    put(stack, key, orders_csv(orders_dataset(stack), 120, first))
    with pollers(
        stack, [slow_environment(), slow_environment()], visibility_timeout=1, batch_size=1
    ):
        wait_for(
            lambda: (
                (ledger(stack, stack.outputs["bucket_names"]["raw"], key) or {}).get("status")
                == "loaded"
                and queue_total(stack) == 0
            ),
            90,
            "the raced file to load and its message to be gone",
        )
    assert len(seen) >= 2  # the same message ran in both environments
    assert len(set(seen)) == 1
    assert orders_rows(stack, first, first + 119) == 120
    rows = count_postgres_rows(stack, {"sales.orders"})["sales.orders"]
    assert rows >= 120


def test_smoke_runs_against_the_local_stack(stack: Stack, capsys: pytest.CaptureFixture[str]):
    """`make smoke`'s code, against the local stack: every file terminal and as expected."""
    from ferry_dev import smoke

    stack.start_workers(1)
    config = json.loads(stack.config_path.read_text())
    assert smoke.run(stack, config, timeout=150) == []
    out = capsys.readouterr().out
    assert "smoke: passed" in out
    for name in ("valid CSV", "invalid JSON", "PDF document"):
        assert name in out


def _denied(call: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as err:
        status = err.response["ResponseMetadata"].get("HTTPStatusCode")
        return status == 403 or "AccessDenied" in err.response["Error"].get("Code", "")
    return False


def test_workers_run_with_their_roles_and_moto_enforces_iam(stack: Stack):
    iam = stack.state.get("iam", {})
    assert iam.get("enforced"), (
        f"IAM is not enforced on the local stack: {iam.get('reason')}. environments/local "
        "must create the processor's (and the dead-letter consumer's) execution role and "
        "policy on the emulator and expose role_arn / deadletter_role_arn."
    )
    out = stack.outputs
    raw, ledger_table = out["bucket_names"]["raw"], out["table_names"]["ledger"]
    s3, ddb, sqs = (stack.client(s, "processor") for s in ("s3", "dynamodb", "sqs"))
    # What the role allows works ...
    ddb.get_item(TableName=ledger_table, Key={"ledger_id": {"S": "probe"}})
    # ... and what it does not allow is refused.
    assert _denied(lambda: s3.put_object(Bucket=raw, Key="probe", Body=b""))
    assert _denied(lambda: ddb.delete_table(TableName=ledger_table))
    assert _denied(lambda: sqs.purge_queue(QueueUrl=out["dlq_url"]))
    assert _denied(lambda: stack.client("iam", "processor").list_users())
