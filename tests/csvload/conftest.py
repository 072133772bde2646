"""Fixtures for the CSV loader tests: the orders dataset and a migrated database."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from ferry.csvload import Dataset, parse_datasets
from ferry.csvload.migrate import migrate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def orders() -> Dataset:
    """The shipped ``orders`` dataset, exactly as configured."""
    config = json.loads((REPO / "lambda_src/config/ferry.json").read_text())
    return parse_datasets(config["datasets"])["orders"]


@pytest.fixture
def db(pg_conn: psycopg.Connection, orders: Dataset) -> psycopg.Connection:
    """The fixture database, migrated, with the orders table and load records emptied."""
    migrate(pg_conn, [orders])
    pg_conn.execute("TRUNCATE sales.orders, ferry.loads")
    return pg_conn


@pytest.fixture
def stream_of() -> Callable[[bytes], Callable[[], Callable[[int], bytes]]]:
    """``stream_of(data)`` -> an ``open_stream`` giving a fresh reader each call."""

    def make(data: bytes) -> Callable[[], Callable[[int], bytes]]:
        return lambda: io.BytesIO(data).read

    return make
