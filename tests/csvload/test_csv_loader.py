"""Exactly-once loads against the real PostgreSQL: once, all or nothing, retried safely."""

from __future__ import annotations

import csv
import dataclasses
import io
import threading
from collections.abc import Callable

import psycopg
import pytest

from ferry.csvload import Dataset, Loader, LoadError, Source
from ferry.csvload.config import RejectThreshold
from ferry.csvload.rejects import RejectLog
from ferry.model import Transient
from ferry_dev.services import PostgresServer
from tests.csvload.csvdata import ORDERS_HEADER, order_row, orders_csv

pytestmark = pytest.mark.postgres
SOURCE = Source("raw", "incoming/orders/a.csv", "v1", '"etag1"')
OpenStream = Callable[[], Callable[[int], bytes]]


def count(conn: psycopg.Connection, sql: str = "SELECT count(*) FROM sales.orders") -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def tcp(postgres: PostgresServer) -> psycopg.Connection:
    return psycopg.connect(postgres.dsn(sslmode="verify-full"), autocommit=True)


def lenient(ds: Dataset, **kw: object) -> Dataset:
    return dataclasses.replace(ds, threshold=RejectThreshold(**kw))  # type: ignore[arg-type]


def test_load_then_redeliver_loads_once(db: psycopg.Connection, orders: Dataset, stream_of) -> None:
    data = orders_csv(500)
    first = Loader(orders).load(db, SOURCE, stream_of(data))
    assert (first.status, first.rows_loaded, first.rows_rejected) == ("loaded", 500, 0)
    again = Loader(orders).load(db, SOURCE, stream_of(data))
    assert again.status == "already_loaded"
    assert again.rows_loaded == 500
    assert count(db) == 500
    record = db.execute(
        "SELECT bucket, key, version_id, etag, dataset, rows_loaded, rows_rejected FROM ferry.loads"
    ).fetchall()
    assert record == [("raw", "incoming/orders/a.csv", "v1", '"etag1"', "orders", 500, 0)]
    # values arrive as PostgreSQL parsed them from the original bytes
    row = db.execute(
        "SELECT customer, note, amount::text, is_gift, delivery_date::text,"
        " ordered_at = '2026-01-02T03:04:05Z' FROM sales.orders WHERE order_id = 7"
    ).fetchone()
    assert row == ("customer 7", "note 7, with a comma", "12.50", False, "2026-01-05", True)


def test_new_version_of_same_key_is_loaded(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    Loader(orders).load(db, SOURCE, stream_of(orders_csv(10)))
    v2 = dataclasses.replace(SOURCE, version_id="v2")
    result = Loader(orders).load(db, v2, stream_of(orders_csv(10, start=11)))
    assert result.status == "loaded"
    assert count(db) == 20
    assert count(db, "SELECT count(*) FROM ferry.loads") == 2


def test_unversioned_bucket_keys_on_etag() -> None:
    assert Source("b", "k", None, '"abc"').version_key == "etag:abc"
    assert Source("b", "k", "null", "abc").version_key == "etag:abc"
    assert Source("b", "k", "v1", "abc").lock_id != Source("b", "k", "v2", "abc").lock_id


def test_stream_failing_half_way_leaves_nothing(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    data = orders_csv(20_000)

    def breaking() -> Callable[[int], bytes]:
        source = io.BytesIO(data)
        served = 0

        def read(n: int) -> bytes:
            nonlocal served
            if served > len(data) // 2:
                raise ConnectionResetError("connection reset by peer")
            chunk = source.read(n)
            served += len(chunk)
            return chunk

        return read

    loader = Loader(orders, chunk_size=64 * 1024)
    with pytest.raises(Transient, match="ConnectionResetError"):
        loader.load(db, SOURCE, breaking)
    assert count(db) == 0
    assert count(db, "SELECT count(*) FROM ferry.loads") == 0
    # redelivery loads it, once
    assert loader.load(db, SOURCE, stream_of(data)).status == "loaded"
    assert count(db) == 20_000


def test_connection_killed_during_copy_leaves_nothing(
    db: psycopg.Connection, postgres: PostgresServer, orders: Dataset, stream_of
) -> None:
    data = orders_csv(20_000)
    victim = tcp(postgres)
    pid = victim.info.backend_pid
    killed = threading.Event()

    def killing() -> Callable[[int], bytes]:
        source = io.BytesIO(data)

        def read(n: int) -> bytes:
            if source.tell() > len(data) // 2 and not killed.is_set():
                # COPY is running on the victim: terminate its backend from another session
                db.execute("SELECT pg_terminate_backend(%s)", (pid,))
                killed.set()
            return source.read(n)

        return read

    loader = Loader(orders, chunk_size=32 * 1024)
    with pytest.raises(Transient, match="PostgreSQL"):
        loader.load(victim, SOURCE, killing)
    assert killed.is_set()
    assert count(db) == 0
    assert count(db, "SELECT count(*) FROM ferry.loads") == 0
    victim.close()
    with tcp(postgres) as fresh:
        assert loader.load(fresh, SOURCE, stream_of(data)).status == "loaded"
        assert loader.load(fresh, SOURCE, stream_of(data)).status == "already_loaded"
    assert count(db) == 20_000


def test_concurrent_duplicates_load_once(
    db: psycopg.Connection, postgres: PostgresServer, orders: Dataset, stream_of
) -> None:
    data = orders_csv(5_000)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def worker() -> None:
        try:
            with tcp(postgres) as conn:
                start.wait()
                results.append(Loader(orders).load(conn, SOURCE, stream_of(data)).status)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == ["already_loaded", "already_loaded", "loaded"]
    assert count(db) == 5_000


def test_unique_constraint_backstops_the_lock(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    """A load record committed between our check and our insert: already loaded, rolled back."""
    data = orders_csv(50)
    loader = Loader(orders)
    calls = 0

    def racing() -> Callable[[int], bytes]:
        nonlocal calls
        calls += 1
        return io.BytesIO(data).read

    def sneak_in(log: RejectLog) -> None:  # pragma: no cover - only called with rejects
        raise AssertionError("no rejects expected")

    # simulate the other writer: insert the load record from a second session mid-load
    other = psycopg.connect(db.info.dsn, autocommit=True)

    def inserting() -> Callable[[int], bytes]:
        other.execute(
            "INSERT INTO ferry.loads (bucket, key, version_id, dataset, target_table,"
            " rows_loaded, rows_rejected)"
            " VALUES ('raw', %s, 'v1', 'orders', 'sales.orders', 50, 0)",
            (SOURCE.key,),
        )
        return racing()

    result = loader.load(db, SOURCE, inserting, sneak_in)
    other.close()
    assert result.status == "already_loaded"
    assert count(db) == 0  # our copy was rolled back


def test_rejects_within_threshold(db: psycopg.Connection, orders: Dataset, stream_of) -> None:
    rows = [order_row(i) for i in range(1, 301)]  # 2 bad of 300: within 1%
    rows[9] = order_row(10, ordered_at="2026-13-01T00:00:00Z")
    rows[49] = order_row(50, quantity="2147483648")
    data = ("\r\n".join([ORDERS_HEADER, *rows]) + "\r\n").encode()
    written: list[bytes] = []
    result = Loader(orders).load(
        db, SOURCE, stream_of(data), lambda log: written.append(log.getvalue())
    )
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 298, 2)
    assert count(db) == 298
    assert list(csv.reader(io.StringIO(written[0].decode()))) == [
        ["line", "column", "reason", "raw"],
        [
            "11",
            "ordered_at",
            '"2026-13-01T00:00:00Z" is not a valid timestamp',
            order_row(10, ordered_at="2026-13-01T00:00:00Z").replace('""', '"'),
        ],
        [
            "51",
            "quantity",
            '"2147483648" is out of range for int (-2147483648 to 2147483647)',
            order_row(50, quantity="2147483648"),
        ],
    ]
    # Every cell is quoted (OWASP's CSV injection guidance).
    assert written[0].decode().splitlines()[0] == '"line","column","reason","raw"'
    assert result.details[0] == {
        "line": 11,
        "column": "ordered_at",
        "reason": '"2026-13-01T00:00:00Z" is not a valid timestamp',
    }


def test_too_many_rejects_reject_the_file(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    rows = [order_row(i, status="lost" if i % 10 == 0 else "paid") for i in range(1, 201)]
    data = ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()
    strict = lenient(orders, max_rows=None, max_fraction=0.05)
    written: list[bytes] = []
    result = Loader(strict).load(
        db, SOURCE, stream_of(data), lambda log: written.append(log.getvalue())
    )
    assert result.status == "rejected"
    assert result.reason is not None
    assert result.reason.startswith(
        "20 of 200 rows rejected; the dataset allows at most 5.0000% of"
    )
    assert (
        'line 11, column "status": "lost" is not one of new, paid, shipped, cancelled'
        in result.reason
    )
    assert len(written[0].decode().splitlines()) == 21
    assert count(db) == 0
    assert count(db, "SELECT count(*) FROM ferry.loads") == 0


def test_row_limit_stops_early(db: psycopg.Connection, orders: Dataset, stream_of) -> None:
    rows = [order_row(i, quantity="x") for i in range(1, 3001)]
    data = ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()
    result = Loader(lenient(orders, max_rows=5), chunk_size=4096).load(db, SOURCE, stream_of(data))
    assert result.status == "rejected"
    assert result.rows_total < 3000  # stopped reading once the limit was passed
    assert count(db) == 0


def test_header_mismatch_rejects_the_file(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    header = b"order_id,customer,note,ordered_at,quantity,status,is_gift,delivery_date"
    data = header + b"\n1,a,,x,1,new,t,\n"
    result = Loader(orders).load(db, SOURCE, stream_of(data))
    assert result.status == "rejected"
    assert (
        result.reason
        == 'line 1: header has 8 columns, dataset "orders" expects 9 (missing: amount)'
    )
    assert count(db, "SELECT count(*) FROM ferry.loads") == 0


@pytest.mark.parametrize(
    "case",
    [
        ("ascending", 10, 1),  # sequential ids: a bitmap, one pass
        ("descending", 1 << 16, 1),  # keys below the first one: the bounded set, one pass
        ("descending", 10, 2),  # more such keys than the bound: the primary key, two passes
    ],
)
def test_duplicate_keys_in_file_are_rejected(
    db: psycopg.Connection,
    orders: Dataset,
    stream_of,
    case: tuple[str, int, int],
) -> None:
    order, max_tracked_keys, passes = case
    ids = range(1, 1001) if order == "ascending" else range(1000, 0, -1)
    rows = [order_row(i) for i in ids] + [order_row(500, customer="again")]
    data = ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()
    loader = Loader(
        lenient(orders, max_rows=10), chunk_size=8192, max_tracked_keys=max_tracked_keys
    )
    result = loader.load(db, SOURCE, stream_of(data))
    assert (result.status, result.rows_loaded, result.rows_rejected, result.passes) == (
        "loaded",
        1000,
        1,
        passes,
    )
    assert result.details == [
        {
            "line": 1002,
            "reason": "duplicate primary key (order_id)=(500): an earlier row has the same key",
        }
    ]
    assert db.execute("SELECT customer FROM sales.orders WHERE order_id = 500").fetchone() == (
        "customer 500",
    )
    assert count(db, "SELECT count(*) FROM ferry.loads") == 1


def test_key_already_in_table_rejects_the_file(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    Loader(orders).load(db, SOURCE, stream_of(orders_csv(10)))
    other = dataclasses.replace(SOURCE, key="incoming/orders/b.csv")
    result = Loader(orders).load(db, other, stream_of(orders_csv(10, start=5)))
    assert result.status == "rejected"
    assert result.reason is not None
    assert "already in sales.orders: Key (order_id)=(5) already exists." in result.reason
    assert count(db) == 10


def test_missing_load_table_is_loud(
    pg_conn: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    pg_conn.execute("CREATE SCHEMA IF NOT EXISTS nothere")
    ds = dataclasses.replace(orders, schema="nothere")
    pg_conn.execute("DROP TABLE IF EXISTS ferry.loads")
    try:
        with pytest.raises(LoadError, match="run the migration"):
            Loader(ds).load(pg_conn, SOURCE, stream_of(orders_csv(1)))
    finally:
        from ferry.csvload.migrate import migrate

        migrate(pg_conn, [orders])


def test_memory_bound_while_loading(db: psycopg.Connection, orders: Dataset) -> None:
    """A many-MB stream produced on the fly is loaded with a buffer bounded by the chunk size."""
    total_rows = 60_000

    def generated() -> Callable[[int], bytes]:
        rows = (order_row(i).encode() + b"\r\n" for i in range(1, total_rows + 1))
        pending = bytearray(ORDERS_HEADER.encode() + b"\r\n")

        def read(n: int) -> bytes:
            while len(pending) < n:
                row = next(rows, None)
                if row is None:
                    break
                pending.extend(row)
            out = bytes(pending[:n])
            del pending[:n]
            return out

        return read

    loader = Loader(orders, chunk_size=64 * 1024)
    result = loader.load(db, SOURCE, generated)
    assert result.rows_loaded == total_rows
    assert count(db) == total_rows
    assert loader.last_max_buffer <= 2 * 64 * 1024  # ~6 MB streamed through <= 128 KiB


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (psycopg.errors.SerializationFailure("could not serialize"), True),
        (psycopg.errors.DeadlockDetected("deadlock"), True),
        (psycopg.errors.TooManyConnections("too many clients"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.CannotConnectNow("starting up"), True),
        (psycopg.OperationalError("connection refused"), True),
        (psycopg.errors.InvalidTextRepresentation("bad input"), False),
        (psycopg.errors.UndefinedColumn("no column"), False),
    ],
)
def test_transient_classification(error: psycopg.Error, transient: bool) -> None:
    from ferry.csvload.loader import classify

    assert (classify(error) is not None) is transient


def test_data_error_from_postgres_is_loud(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    """The table drifted from the spec (shorter column): PostgreSQL refuses, we do not hide it."""
    db.execute("ALTER TABLE sales.orders ALTER COLUMN customer TYPE varchar(5)")
    try:
        with pytest.raises(LoadError, match="value too long for type character varying"):
            Loader(orders).load(db, SOURCE, stream_of(orders_csv(3)))
        assert count(db, "SELECT count(*) FROM ferry.loads") == 0
    finally:
        db.execute("ALTER TABLE sales.orders ALTER COLUMN customer TYPE varchar(64)")
