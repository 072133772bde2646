"""Row lineage in PostgreSQL: each row names its load (ferry.loads) and its source line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import psycopg
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ferry.csvload import Dataset, loader
from ferry.csvload import migrate as migrate_module
from ferry.csvload.lineage import number
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


def test_numbering_appends_each_records_first_line() -> None:
    good = b'a,1\n"b\nc",2\nd,4\n'
    assert number(good, 10, ",", b"\n") == b'a,1,10\n"b\nc",2,11\nd,4,13\n'
    assert number(b"a\r\nb\r\n", 2, ";", b"\r\n", records=2) == b"a;2\r\nb;3\r\n"
    # two quoted line breaks in one record, one bare LF inside quotes of a CRLF file
    crlf = b'x,"1\r\n2","3\n4"\r\ny,5\r\n'
    assert number(crlf, 7, ",", b"\r\n") == b'x,"1\r\n2","3\n4",7\r\ny,5,10\r\n'
    # percent signs in the data and as the delimiter are data, not format directives
    assert number(b'%d%%,"%\n%s"\n', 1, "%", b"\n") == b'%d%%,"%\n%s"%1\n'
    assert number(b"", 5, ",", b"\n") == b""


def test_numbering_with_the_load_id_puts_it_before_the_line() -> None:
    good = b'a,1\n"b\nc",2\n'
    assert number(good, 10, ",", b"\n", load_id=42) == b'a,1,42,10\n"b\nc",2,42,11\n'
    assert number(b"a\r\n", 3, "%", b"\r\n", records=1, load_id=7) == b"a%7%3\r\n"


def test_the_loader_copies_into_the_migrations_lineage_columns() -> None:
    assert (loader.LOAD_ID_COLUMN, loader.LINE_COLUMN) == (
        migrate_module.LOAD_ID_COLUMN,
        migrate_module.LINE_COLUMN,
    )


@pytest.mark.parametrize(
    "segment",
    [b"a,1", b'a,"open\n', b'a\n"b,\nc\n'],
    ids=["no line end", "unclosed quote", "unclosed quote after a record"],
)
def test_numbering_refuses_what_is_not_whole_records(segment: bytes) -> None:
    with pytest.raises(ValueError, match="whole record"):
        number(segment, 1, ",", b"\n")


def test_numbering_refuses_a_wrong_record_count() -> None:
    with pytest.raises(ValueError, match="disagree"):
        number(b"a\r\nb\nc\r\n", 1, ",", b"\r\n", records=3)


_FIELD = st.one_of(
    st.text(alphabet=st.sampled_from("ab%;,d1 "), max_size=4),
    st.text(alphabet=st.sampled_from('ab%;,\n"\r'), max_size=6).map(
        lambda t: '"' + t.replace('"', '""') + '"'
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_FIELD, min_size=1, max_size=4), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "%"]),
    eol=st.sampled_from(["\n", "\r\n"]),
    first=st.integers(min_value=2, max_value=10**9),
    tell=st.booleans(),
    load_id=st.one_of(st.none(), st.integers(min_value=1, max_value=2**63 - 1)),
)
def test_numbering_agrees_with_the_csv_module(
    rows: list[list[str]],
    delimiter: str,
    eol: str,
    first: int,
    tell: bool,
    *,
    load_id: int | None,
) -> None:
    """Each record gets the line it starts on, as Python's csv reader counts lines."""
    rows = [[f if f.startswith('"') else f.replace(delimiter, "") for f in r] for r in rows]
    rows = [r for r in rows if delimiter.join(r)]  # a blank line is never a record
    assume(rows)
    text = "".join(delimiter.join(r) + eol for r in rows)
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter)  # lines end at LF
    expected, before = [], 0
    for record in reader:
        ids = [] if load_id is None else [str(load_id)]
        expected.append([*record, *ids, str(first + before)])
        before = reader.line_num
    records = len(rows) if tell else None
    numbered = number(text.encode(), first, delimiter, eol.encode(), records, load_id=load_id)
    got = list(csv.reader(io.StringIO(numbered.decode(), newline="\n"), delimiter=delimiter))
    assert got == expected
    assert numbered.endswith(eol.encode())
