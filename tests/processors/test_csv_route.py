"""The csv_postgres route through the handler: routing, ledger, failed bucket, exactly once.

The CSV loader itself is tested in tests/csvload; this checks that it plugs into the
handler by configuration (moto for S3/DynamoDB, the throwaway PostgreSQL server).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from ferry.csvload import parse_datasets
from ferry.csvload.migrate import migrate
from ferry_dev.services import PostgresServer
from tests.processors.conftest import Stack

pytestmark = [pytest.mark.moto, pytest.mark.postgres]

HEADER = b"order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date\n"
ROW = "{id},ann,,2026-11-24T04:00:00Z,12.50,2,paid,false,2026-11-30\n"


@pytest.fixture
def csv_stack(stack: Stack, postgres: PostgresServer, pg_conn: psycopg.Connection) -> Stack:
    migrate(pg_conn, list(parse_datasets(stack.runtime.config.datasets).values()))
    pg_conn.execute("TRUNCATE sales.orders, ferry.loads")

    def factory() -> psycopg.Connection:
        return psycopg.connect(postgres.dsn(tcp=False), autocommit=True)

    stack.runtime.db = factory
    return stack


def orders(n: int, first: int = 1) -> bytes:
    return HEADER + "".join(ROW.format(id=i) for i in range(first, first + n)).encode()


def test_orders_csv_is_loaded_once(csv_stack: Stack, pg_conn: psycopg.Connection) -> None:
    ref = csv_stack.put("incoming/orders/2026-11.csv", orders(3))
    event = csv_stack.event(ref)
    assert csv_stack.run(event)["batchItemFailures"] == []
    assert csv_stack.run(event)["batchItemFailures"] == []  # duplicate delivery
    assert pg_conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] == 3
    item = csv_stack.ledger(ref)
    assert item["status"] == "loaded"
    assert item["processor"] == "csv_postgres"
    assert item["counts"]["rows_loaded"] == 3
    assert item["attempt"] == 1


def test_orders_csv_with_a_wrong_header_is_rejected(
    csv_stack: Stack, pg_conn: psycopg.Connection
) -> None:
    ref = csv_stack.put("incoming/orders/bad.csv", b"id,who\n1,ann\n")
    assert csv_stack.run(csv_stack.event(ref))["batchItemFailures"] == []
    item = csv_stack.ledger(ref)
    assert item["status"] == "rejected"
    assert "header" in item["reason"]
    assert ref.key + ".error.json" in csv_stack.failed_keys()
    assert pg_conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] == 0


def test_database_down_is_transient(csv_stack: Stack) -> None:
    from ferry.model import Transient

    def down() -> Any:
        raise Transient("PostgreSQL is not reachable")

    csv_stack.runtime.db = down
    ref = csv_stack.put("incoming/orders/later.csv", orders(1))
    response = csv_stack.run(csv_stack.event(ref))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [ref.message_id]
    assert csv_stack.ledger(ref)["status"] == "in_progress"
