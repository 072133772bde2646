"""The csv_postgres processor: S3 streaming (moto), rejects CSV in the failed bucket, once."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from ferry.aws import S3, DynamoDB
from ferry.config import load_config
from ferry.ledger import Ledger
from ferry.model import ObjectRef, Transient
from ferry.processors.csv_postgres import CsvPostgresProcessor
from ferry.rejects import REJECTS_SUFFIX
from ferry.runtime import Runtime
from ferry.settings import SOURCE_CONFIG, Settings
from ferry_dev.services import PostgresServer
from tests.csvload.csvdata import ORDERS_HEADER, order_row

pytestmark = [pytest.mark.moto, pytest.mark.postgres]
KEY = "incoming/orders/2026-11-24.csv"


@pytest.fixture
def context(aws: Callable[[str], Any], postgres: PostgresServer, db: psycopg.Connection) -> Runtime:
    s3 = aws("s3")
    for bucket in ("raw", "failed"):
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    s3.put_bucket_versioning(Bucket="raw", VersioningConfiguration={"Status": "Enabled"})
    config = load_config(SOURCE_CONFIG)
    route = config.route_for(KEY)
    assert route is not None
    assert route.processor == "csv_postgres"
    dynamodb = DynamoDB(aws("dynamodb"))
    runtime = Runtime(
        config=config,
        settings=Settings(failed_bucket="failed"),
        s3=S3(s3),
        dynamodb=dynamodb,
        ledger=Ledger("ledger", dynamodb),
        db=lambda: psycopg.connect(postgres.dsn(sslmode="verify-full")),
    )
    return runtime.for_object(ObjectRef("raw", KEY, "v1"), route)


def put(ctx: Runtime, body: bytes) -> ObjectRef:
    r = ctx.s3.client.put_object(Bucket="raw", Key=KEY, Body=body)
    return ObjectRef("raw", KEY, r["VersionId"], len(body), r["ETag"])


def test_loads_from_s3_with_rejects_csv(context: Runtime, db: psycopg.Connection) -> None:
    rows = [order_row(i) for i in range(1, 401)]
    rows[99] = order_row(100, note='"line one\r\nline two, ""quoted"""', ordered_at="yesterday")
    body = ("\r\n".join([ORDERS_HEADER, *rows]) + "\r\n").encode()
    ref = put(context, body)
    processor = CsvPostgresProcessor()
    outcome = processor.run(ref, context)
    assert outcome.status == "loaded"
    assert outcome.counts == {"rows_loaded": 399, "rows_rejected": 1, "rows_total": 400}
    load_id = db.execute("SELECT load_id FROM ferry.loads").fetchone()[0]
    assert outcome.outputs == [
        f"postgresql:sales.orders#load={load_id}",
        f"s3://failed/{KEY}{REJECTS_SUFFIX}",
    ]
    rejects = context.s3.client.get_object(Bucket="failed", Key=KEY + REJECTS_SUFFIX)["Body"].read()
    parsed = list(csv.reader(io.StringIO(rejects.decode())))
    assert parsed[0] == ["line", "column", "reason", "raw"]
    assert parsed[1][:3] == ["101", "ordered_at", '"yesterday" is not a valid timestamp']
    assert parsed[1][3].startswith('100,customer 100,"line one\r\nline two, ""quoted""",yesterday')
    # the same version again (redelivered event): nothing new
    again = processor.run(ref, context)
    assert again.status == "loaded"
    assert again.counts["rows_loaded"] == 399
    assert db.execute("SELECT count(*) FROM sales.orders").fetchone() == (399,)


def test_whole_file_reject_is_an_outcome(context: Runtime) -> None:
    ref = put(context, b"order_id,customer\n1,ann\n")
    outcome = CsvPostgresProcessor().run(ref, context)
    assert outcome.status == "rejected"
    assert outcome.reason == (
        'line 1: header has 2 columns, dataset "orders" expects 9 (missing: note, ordered_at,'
        " amount, quantity, status, is_gift, delivery_date)"
    )
    assert outcome.details == [{"line": 1, "reason": outcome.reason}]


def test_database_errors_are_transient_and_drop_the_connection(
    context: Runtime, pg_conn: psycopg.Connection
) -> None:
    processor = CsvPostgresProcessor()
    ref = put(context, ("\n".join([ORDERS_HEADER, order_row(1)]) + "\n").encode())
    assert processor.run(ref, context).status == "loaded"
    cache = processor._connections(context)
    conn = cache.get()
    # the next load's connection dies under it: Transient, and a fresh connection next time
    pg_conn.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    ref2 = put(context, ("\n".join([ORDERS_HEADER, order_row(2)]) + "\n").encode())
    original_get = cache.get
    cache.get = lambda: conn  # type: ignore[method-assign]  # skip the health check once
    with pytest.raises(Transient):
        processor.run(ref2, context)
    cache.get = original_get  # type: ignore[method-assign]
    assert processor.run(ref2, context).status == "loaded"
