"""The migration: creates schema, table and ferry.loads; idempotent; reports drift."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from ferry.csvload import Dataset
from ferry.csvload.migrate import drift, migrate, statements
from ferry_dev.services import PostgresServer
from tests.csvload.conftest import REPO
from tests.csvload.csvdata import small_dataset


def test_statements_are_idempotent_ddl(orders: Dataset) -> None:
    sql = statements([orders])
    assert sql[0] == "CREATE SCHEMA IF NOT EXISTS ferry"
    assert all("IF NOT EXISTS" in s for s in sql)
    table = next(s for s in sql if s.startswith('CREATE TABLE IF NOT EXISTS "sales"'))
    assert '"order_id" bigint NOT NULL' in table
    assert '"note" varchar(500)' in table
    assert '"amount" numeric(12,2) NOT NULL' in table
    assert "CHECK (\"status\" IN ('new', 'paid', 'shipped', 'cancelled'))" in table
    assert 'CONSTRAINT "orders_pkey" PRIMARY KEY ("order_id")' in table


@pytest.mark.postgres
def test_migrate_twice_and_drift(pg_conn: psycopg.Connection) -> None:
    ds = small_dataset(
        [{"name": "id", "type": "bigint"}, {"name": "v", "type": "numeric", "precision": 5}],
        primary_key=["id"],
    )
    pg_conn.execute("DROP SCHEMA IF EXISTS t CASCADE")
    assert migrate(pg_conn, [ds]) == []
    assert migrate(pg_conn, [ds]) == []  # idempotent
    assert drift(pg_conn, ds) == []
    pg_conn.execute("ALTER TABLE t.small ALTER COLUMN v TYPE integer")
    assert migrate(pg_conn, [ds]) == ["t.small.v: is integer, the dataset says numeric(5,0)"]
    pg_conn.execute("DROP SCHEMA t CASCADE")


@pytest.mark.postgres
def test_command_line(postgres: PostgresServer, pg_conn: psycopg.Connection) -> None:
    pg_conn.execute("DROP TABLE IF EXISTS sales.orders")
    cmd = [
        sys.executable,
        "-m",
        "ferry.csvload.migrate",
        "--config",
        str(REPO / "lambda_src/config/ferry.json"),
        "--dsn",
        postgres.dsn(sslmode="verify-full"),
    ]
    env = {"PYTHONPATH": str(REPO / "lambda_src"), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert (
            done.stdout.strip() == "migrated: ferry.loads, sales.orders; loader role ferry_loader"
        )
    row = pg_conn.execute("SELECT to_regclass('sales.orders') IS NOT NULL").fetchone()
    assert row == (True,)
    bad = subprocess.run(
        [*cmd[:4], str(REPO / "README.md"), "--print"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2
    assert "error:" in bad.stderr
