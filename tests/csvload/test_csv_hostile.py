"""CSV files as hostile producers and real-world exports make them.

An unbalanced quote never hides rows from the reject threshold, an empty file says
so, rejects.csv is safe to open in a spreadsheet, and headers that are not SQL
identifiers map onto dataset columns.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import psycopg
import pytest

from ferry.csvload import Dataset, parse_dataset
from ferry.csvload.config import DatasetError, RejectThreshold
from ferry.csvload.loader import Loader, Source
from ferry.csvload.rejects import neutralise
from ferry.csvload.validate import HeaderError, map_header
from tests.csvload.csvdata import ORDERS_HEADER, order_row

SOURCE = Source("raw", "incoming/orders/hostile.csv", "v1", '"etag1"')


def lenient(ds: Dataset, fraction: float) -> Dataset:
    return dataclasses.replace(ds, threshold=RejectThreshold(max_rows=None, max_fraction=fraction))


def rows_in(db: psycopg.Connection) -> int:
    row = db.execute("SELECT count(*) FROM sales.orders").fetchone()
    assert row is not None
    return int(row[0])


# --- 4. unbalanced quotes, empty files, formula injection --------------------------------------


def test_a_quote_never_closed_counts_every_line_it_swallowed(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    rows = [order_row(i) for i in range(1, 101)]
    rows[4] = order_row(5, customer='"customer 5 never closed')
    data = ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()
    result = Loader(lenient(orders, 0.3), chunk_size=512).load(db, SOURCE, stream_of(data))
    assert result.status == "rejected", "96 of 100 rows are gone: never reported loaded"
    assert result.rows_total == 100
    assert result.rows_rejected == 96
    assert "swallowed lines 6-101" in (result.reason or "")
    assert rows_in(db) == 0


def test_a_quote_closed_much_later_counts_the_lines_between(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    rows = [order_row(i) for i in range(1, 101)]
    rows[4] = order_row(5, customer='"customer 5 opens')
    rows[49] = order_row(50, customer='customer 50 closes"')
    data = ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()
    result = Loader(lenient(orders, 0.3)).load(db, SOURCE, stream_of(data))
    assert result.status == "rejected"
    assert (result.rows_total, result.rows_rejected) == (100, 46)
    assert "spans lines 6-51" in (result.reason or "")


@pytest.mark.parametrize("body", [b"", b"   ", b"\n\n \r\n\t\n"])
def test_an_empty_file_says_it_is_empty(
    db: psycopg.Connection, orders: Dataset, stream_of, body: bytes
) -> None:
    result = Loader(orders).load(db, SOURCE, stream_of(body))
    assert result.status == "rejected"
    assert (result.reason or "").startswith("file is empty")


def test_an_empty_header_line_before_data_is_named(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    data = ("\n" + ORDERS_HEADER + "\n" + order_row(1) + "\n").encode()
    result = Loader(orders).load(db, SOURCE, stream_of(data))
    assert result.reason == "line 1: the header line is empty"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("＝1", "'＝1"),
        ("plain, text", "plain, text"),
        ("12", "12"),
    ],
)
def test_cells_are_neutralised(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


def test_rejects_csv_is_safe_to_open(db: psycopg.Connection, orders: Dataset, stream_of) -> None:
    rows = [order_row(i) for i in range(1, 201)]
    rows[9] = order_row(10, quantity="=cmd|' /C calc'!A0")
    rows[10] = "=1+2" + order_row(11)[2:]
    data = ("\n".join([ORDERS_HEADER, *rows]) + "\n").encode()
    written: list[bytes] = []
    result = Loader(lenient(orders, 0.05)).load(
        db, SOURCE, stream_of(data), lambda log: written.append(log.getvalue())
    )
    assert result.status == "loaded"
    parsed = list(csv.reader(io.StringIO(written[0].decode())))
    for line in parsed[1:]:
        for cell in line[1:]:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@")), line
    assert parsed[2][3].startswith("'=1+2")


# --- 8. real-world headers ---------------------------------------------------------------------


def exported(orders: Dataset) -> Dataset:
    """The orders dataset read from a SaaS export's headers, with two columns to ignore."""
    columns = [
        dataclasses.replace(c, header="Customer Name (Full)")
        if c.name == "customer"
        else dataclasses.replace(c, header="Order #")
        if c.name == "order_id"
        else c
        for c in orders.columns
    ]
    return dataclasses.replace(
        orders, columns=tuple(columns), ignore_headers=("Internal Ref", "Sales Rep")
    )


def test_columns_are_read_from_the_headers_they_name(
    db: psycopg.Connection, orders: Dataset, stream_of
) -> None:
    header = ORDERS_HEADER.split(",")
    header[0], header[1] = "ORDER #", "  customer name (full) "
    header = ["Internal Ref", *header, "sales rep"]
    rows = [f'REF-{i},{order_row(i)},"Rep, {i}"' for i in range(1, 51)]
    rows[2] = f'"REF\r\n3",{order_row(3)},"Rep, 3"'  # an ignored field with a line break
    data = ("\r\n".join([",".join(header), *rows]) + "\r\n").encode()
    result = Loader(exported(orders)).load(db, SOURCE, stream_of(data))
    assert (result.status, result.rows_loaded) == ("loaded", 50), result.reason
    row = db.execute("SELECT order_id, customer, note FROM sales.orders WHERE order_id = 7")
    assert row.fetchone() == (7, "customer 7", "note 7, with a comma")
    lines = db.execute("SELECT order_id, _ferry_line FROM sales.orders WHERE order_id IN (3, 7)")
    assert sorted(lines.fetchall()) == [(3, 4), (7, 9)]  # 3 spans lines 4-5


def test_the_header_check_keeps_its_precise_messages(orders: Dataset) -> None:
    ds = exported(orders)
    header = ORDERS_HEADER.split(",")
    header[0] = "Order Number"
    with pytest.raises(HeaderError) as err:
        map_header(ds, [*header, "Internal Ref", "internal ref"])
    message = str(err.value)
    assert 'missing: order_id (header "Order #")' in message
    assert 'unexpected: "Order Number"' in message
    assert 'repeated: "internal ref"' in message
    assert "may have 2 ignored" in message


def test_header_options_are_validated() -> None:
    spec = {
        "table": "sales.t",
        "columns": [
            {"name": "a", "type": "int", "header": "Col A"},
            {"name": "b", "type": "int", "header": "col a "},
        ],
    }
    with pytest.raises(DatasetError, match=r"columns\[1\].header: 'col a ' is also the header"):
        parse_dataset("t", spec)
    spec["columns"][1] = {"name": "b", "type": "int", "header": "line\nbreak"}
    with pytest.raises(DatasetError, match="must not contain line breaks"):
        parse_dataset("t", spec)
    spec["columns"][1] = {"name": "b", "type": "int"}
    with pytest.raises(DatasetError, match=r"ignore_headers\[0\]: 'COL A' is the header of"):
        parse_dataset("t", {**spec, "ignore_headers": ["COL A"]})
    ds = parse_dataset("t", {**spec, "ignore_headers": ["Notes"]})
    assert ds.ignore_headers == ("Notes",)
    assert ds.column("a").header == "Col A"
