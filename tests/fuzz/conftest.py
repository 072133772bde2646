"""The moto-based stack of tests/processors, and the same stack wired to PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from ferry.csvload import parse_datasets
from ferry.csvload.migrate import migrate
from ferry_dev.services import PostgresServer
from tests.processors.conftest import Stack, default_config, moto_clients, stack

__all__ = ["default_config", "moto_clients", "stack"]


@pytest.fixture
def csv_stack(stack: Stack, postgres: PostgresServer, pg_conn: psycopg.Connection) -> Stack:
    migrate(pg_conn, list(parse_datasets(stack.runtime.config.datasets).values()))
    pg_conn.execute("TRUNCATE sales.orders, ferry.loads")

    def factory() -> psycopg.Connection:
        return psycopg.connect(postgres.dsn(tcp=False), autocommit=True)

    stack.runtime.db = factory
    return stack
