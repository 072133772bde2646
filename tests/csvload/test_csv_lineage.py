"""Row lineage in PostgreSQL: each row names its load (ferry.loads) and its source line."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from ferry.csvload import Dataset
from ferry.csvload.lineage import good_lines, with_lines
from ferry.csvload.loader import Loader, Source
from ferry.csvload.migrate import migrate
from tests.csvload.csvdata import ORDERS_HEADER, order_row

pytestmark = pytest.mark.postgres


def _file(eol: str) -> tuple[bytes, dict[int, int]]:
    """200 orders with a two-line record, a bad row and a blank line: id -> source line."""
    lines = [ORDERS_HEADER]
    where: dict[int, int] = {}
    for i in range(1, 201):
        if i == 30:
            lines.append(order_row(i, amount="12,50"))  # rejected: not a number
            continue
        if i == 60:
            lines.append("")  # a blank line: skipped, but it is a line
        where[i] = len(lines) + 1
        if i == 5:
            lines.append(order_row(i, note=f'"first line{eol}second line"'))
            where[i] = len(lines)  # the record starts on its first line
            continue
        lines.append(order_row(i))
    text = eol.join(lines) + eol
    # The two-line record occupies two physical lines: shift every later row by one.
    for i in where:
        if i > 5:
            where[i] += 1
    return text.encode(), where


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("chunk_size", [1 << 20, 512])
def test_each_row_names_its_load_and_source_line(
    db: psycopg.Connection,
    orders: Dataset,
    stream_of: Callable[[bytes], Callable[[], Callable[[int], bytes]]],
    eol: str,
    chunk_size: int,
) -> None:
    data, where = _file(eol)
    source = Source("raw", "incoming/orders/lineage.csv", "v7", '"e"')
    result = Loader(orders, chunk_size=chunk_size).load(db, source, stream_of(data))
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 199, 1)
    rows = db.execute(
        "SELECT o.order_id, o._ferry_line, l.bucket, l.key, l.version_id"
        " FROM sales.orders o JOIN ferry.loads l ON l.load_id = o._ferry_load_id"
    ).fetchall()
    assert {r[2:] for r in rows} == {("raw", "incoming/orders/lineage.csv", "v7")}
    assert {r[0]: r[1] for r in rows} == where
    physical = data.decode().split(eol)
    assert physical[where[77] - 1].startswith("77,")
    assert result.load_id == db.execute("SELECT load_id FROM ferry.loads").fetchone()[0]


def test_a_rejected_duplicate_key_keeps_every_line_number_right(
    db: psycopg.Connection,
    orders: Dataset,
    stream_of: Callable[[bytes], Callable[[], Callable[[int], bytes]]],
) -> None:
    lines = [ORDERS_HEADER] + [order_row(i) for i in range(1, 151)] + [order_row(7)]
    lines += [order_row(i) for i in range(151, 161)]
    data = ("\n".join(lines) + "\n").encode()
    result = Loader(orders).load(db, Source("raw", "dups.csv", "v1"), stream_of(data))
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 160, 1)
    got = dict(db.execute("SELECT order_id, _ferry_line FROM sales.orders").fetchall())
    assert got[7] == 8
    assert got[151] == 153  # after the rejected duplicate on line 152


def test_redelivery_reports_the_first_load_id(
    db: psycopg.Connection,
    orders: Dataset,
    stream_of: Callable[[bytes], Callable[[], Callable[[int], bytes]]],
) -> None:
    data = (ORDERS_HEADER + "\n" + order_row(1) + "\n").encode()
    loader, source = Loader(orders), Source("raw", "once.csv", "v1")
    first = loader.load(db, source, stream_of(data))
    again = loader.load(db, source, stream_of(data))
    assert again.status == "already_loaded"
    assert again.load_id == first.load_id is not None
    assert db.execute("SELECT count(*) FROM sales.orders").fetchone()[0] == 1


def test_migration_adds_lineage_to_existing_tables_idempotently(
    pg_conn: psycopg.Connection, orders: Dataset
) -> None:
    """Tables made before lineage existed get the columns; old load records get ids."""
    with pg_conn.transaction():
        pg_conn.execute("DROP TABLE IF EXISTS sales.orders, ferry.loads")
        pg_conn.execute("DROP SEQUENCE IF EXISTS ferry.load_ids")
        pg_conn.execute(
            "CREATE TABLE ferry.loads (bucket text NOT NULL, key text NOT NULL,"
            " version_id text NOT NULL, etag text, dataset text NOT NULL,"
            " target_table text NOT NULL, rows_loaded bigint NOT NULL,"
            " rows_rejected bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(),"
            " PRIMARY KEY (bucket, key, version_id))"
        )
        pg_conn.execute(
            "INSERT INTO ferry.loads VALUES ('raw', 'old.csv', 'v0', NULL, 'orders',"
            " 'sales.orders', 1, 0)"
        )
        pg_conn.execute("CREATE TABLE sales.orders (order_id bigint PRIMARY KEY)")
        pg_conn.execute("INSERT INTO sales.orders VALUES (1)")
    try:
        migrate(pg_conn, [orders])
        migrate(pg_conn, [orders])  # idempotent
        columns = {
            r[0]
            for r in pg_conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'sales' AND table_name = 'orders'"
            )
        }
        assert {"_ferry_load_id", "_ferry_line"} <= columns
        assert pg_conn.execute(
            "SELECT _ferry_load_id, _ferry_line FROM sales.orders"
        ).fetchall() == [(None, None)]
        assert pg_conn.execute("SELECT load_id FROM ferry.loads").fetchone()[0] is not None
    finally:
        with pg_conn.transaction():  # leave the fixture database as the other tests expect it
            pg_conn.execute("DROP TABLE IF EXISTS sales.orders, ferry.loads")
        migrate(pg_conn, [orders])


def test_numbering_helpers() -> None:
    data = b'a,1\n"b\nc",2\nbad\nd,4\n'
    good = b'a,1\n"b\nc",2\nd,4\n'
    assert list(good_lines(data, good, 10, 3)) == [10, 11, 14]
    assert with_lines(good, [10, 11, 14], ",", b"\n") == b'a,1,10\n"b\nc",2,11\nd,4,14\n'
    assert with_lines(b"a\r\nb\r\n", range(2, 4), ";", b"\r\n") == b"a;2\r\nb;3\r\n"
    with pytest.raises(ValueError, match="records but"):
        with_lines(b"a\n", [1, 2], ",", b"\n")
