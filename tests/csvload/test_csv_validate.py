"""RFC 4180 parsing, header mapping, line numbers and the bulk/exact paths agreeing."""

from __future__ import annotations

import io

import pytest

from ferry.csvload import Dataset
from ferry.csvload.loader import reader_line
from ferry.csvload.reader import RecordReader
from ferry.csvload.validate import (
    HeaderError,
    KeySet,
    Reject,
    RowValidator,
    map_header,
    parse_header,
    tail_lines,
)
from tests.csvload.csvdata import ORDERS_HEADER, order_row, small_dataset

PAIR = small_dataset(
    [
        {"name": "id", "type": "int", "nullable": False},
        {"name": "note", "type": "text", "max_length": 12},
    ],
    primary_key=["id"],
)


def validate_file(
    dataset: Dataset, data: bytes, *, chunk_size: int = 64, keys: bool = False
) -> tuple[int, bytes, list[Reject]]:
    """Rows seen, bytes that would be COPYed and rejects, through reader + validator."""
    reader = RecordReader(io.BytesIO(data).read, chunk_size=chunk_size)
    header, eol = reader.header()
    validator = RowValidator(dataset, map_header(dataset, parse_header(header, ",")), eol.decode())
    rows, payload, rejects = 0, b"", []
    seen = KeySet() if keys else None
    for chunk in reader.chunks(eol):
        result = validator.validate(chunk.data, chunk.first_line, seen)
        rows += result.rows
        payload += b"".join(data for data, _ in result.segments)
        rejects += result.rejects
        if chunk.broken_tail:
            rows += tail_lines(chunk.broken_tail)
            rejects.append(validator.broken_tail(chunk.broken_tail, reader_line(chunk)))
    return rows, payload, rejects


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_rfc4180_edge_cases_pass_through_unchanged(chunk_size: int) -> None:
    body = (
        b'1,"a, b"\r\n'  # quoted delimiter
        b'2,"line\r\nbreak"\r\n'  # embedded CRLF
        b'3,"say ""hi"""\r\n'  # escaped quotes
        b'4,""\r\n'  # quoted empty: the empty string
        b"5,\r\n"  # unquoted empty: NULL
        b'"6",plain\r\n'  # a quoted integer
        b"7,\xc3\xa9t\xc3\xa9"  # UTF-8, and no line end at the end of the file
    )
    rows, payload, rejects = validate_file(
        PAIR, b"\xef\xbb\xbfid,note\r\n" + body, chunk_size=chunk_size
    )
    assert rejects == []
    assert rows == 7
    assert payload == body + b"\r\n"  # original bytes; the missing final line end added


def test_header_matches_case_insensitively_in_any_order() -> None:
    rows, payload, rejects = validate_file(PAIR, b"NOTE,Id\nx,1\n")
    assert (rows, rejects) == (1, [])
    assert payload == b"x,1\n"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "order_id,customer,note,ordered_at,quantity,status,is_gift,delivery_date",
            'line 1: header has 8 columns, dataset "orders" expects 9 (missing: amount)',
        ),
        (
            ORDERS_HEADER + ",extra",
            'line 1: header has 10 columns, dataset "orders" expects 9 (unexpected: "extra")',
        ),
        (
            ORDERS_HEADER.replace("customer", "order_id"),
            '(missing: customer; repeated: "order_id")',
        ),
        ("", 'line 1: header has 1 columns, dataset "orders" expects 9'),
    ],
)
def test_header_mismatch_messages(orders: Dataset, header: str, message: str) -> None:
    with pytest.raises(HeaderError) as err:
        map_header(orders, parse_header(header.encode(), ","))
    assert message in str(err.value)


def test_line_numbers_count_embedded_newlines() -> None:
    data = (
        b"id,note\n"  # line 1
        b'1,"two\nlines"\n'  # lines 2-3
        b'x,"three\n\nlines"\n'  # lines 4-6: bad id
        b"3,ok\n"  # line 7
        b"4,much too long\n"  # line 8
    )
    for chunk_size in (1, 5, 1 << 16):
        rows, payload, rejects = validate_file(PAIR, data, chunk_size=chunk_size)
        assert rows == 4
        assert [(r.line, r.column) for r in rejects] == [(4, "id"), (8, "note")]
        assert rejects[0].raw == 'x,"three\n\nlines"'
        assert rejects[0].reason == '"x" is not a valid integer (int)'
        assert rejects[1].reason == "is 13 characters long, the limit is 12"
        assert payload == b'1,"two\nlines"\n3,ok\n'


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b'1,ab"c"d', "record has a quote inside an unquoted field"),
        (b'1,"ab"c', "record has text after a closing quote"),
        (b"1,a,b", "row has 3 fields, expected 2"),
        (b"1", "row has 1 fields, expected 2"),
        (b"1,a\rb", "record has a carriage return outside quotes"),
        (b"1,\xff\xfe", '"\\udcff\\udcfe" is not valid UTF-8'),
        (b'1,"a\x00"', "contains a NUL byte"),
        (b",x", "is empty (NULL), but the column is NOT NULL"),
    ],
)
def test_malformed_rows_are_rejected_with_reasons(row: bytes, reason: str) -> None:
    rows, payload, rejects = validate_file(PAIR, b"id,note\n9,good\n" + row + b"\n10,fine\n")
    assert rows == 3
    assert payload == b"9,good\n10,fine\n"
    assert len(rejects) == 1
    assert rejects[0].line == 3
    assert reason in rejects[0].reason


def test_line_feed_row_in_crlf_file_is_rejected() -> None:
    _rows, payload, rejects = validate_file(PAIR, b"id,note\r\n1,a\n2,b\r\n")
    # PostgreSQL would stop at a bare LF in a CRLF file: the record runs to the next line end
    assert [r.reason for r in rejects] == ["line ends with LF, but the header line ends with CRLF"]
    assert payload == b"2,b\r\n"


def test_unterminated_quote_at_end_of_file() -> None:
    _rows, payload, rejects = validate_file(PAIR, b'id,note\n1,a\n2,"never closed\n3,x\n')
    assert payload == b"1,a\n"
    assert [r.reason for r in rejects] == [
        "unterminated quoted field at end of file (it swallowed lines 3-4)"
    ]


def test_blank_lines_are_skipped() -> None:
    rows, payload, rejects = validate_file(PAIR, b"id,note\n1,a\n\n2,b\n\n")
    assert (rows, rejects, payload) == (2, [], b"1,a\n2,b\n")


def test_duplicate_keys_in_one_file() -> None:
    data = b"id,note\n1,a\n2,b\n+1,c\n3,d\n2,e\n"
    _rows, payload, rejects = validate_file(PAIR, data, keys=True)
    assert payload == b"1,a\n2,b\n3,d\n"
    assert [(r.line, r.reason) for r in rejects] == [
        (4, "duplicate primary key (id)=(1): an earlier row has the same key"),
        (6, "duplicate primary key (id)=(2): an earlier row has the same key"),
    ]
    # without key tracking the rows pass (the table's primary key is the first line of defence)
    assert validate_file(PAIR, data)[2] == []


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_duplicate_keys_in_a_file_with_bad_rows(chunk_size: int) -> None:
    """After a bad row, runs of good rows are checked in bulk and their keys taken in bulk."""
    data = (
        b"id,note\n"
        b"x,bad\n"  # line 2: not an int; the file takes the path for files with bad rows
        b"1,a\n"
        b'2,"multi\nline"\n'  # lines 4-5
        b'"1",c\n'  # line 6: a quoted key repeats 1
        b"007,d\n"  # a non-canonical key: 7
        b"3,e\n"
        b"7,f\n"  # line 9: repeats 007
        b"2,g\n"  # line 10
    )
    rows, payload, rejects = validate_file(PAIR, data, chunk_size=chunk_size, keys=True)
    assert payload == b'1,a\n2,"multi\nline"\n007,d\n3,e\n'
    assert [(r.line, r.column, r.reason.split(":")[0]) for r in rejects] == [
        (2, "id", '"x" is not a valid integer (int)'),
        (6, None, "duplicate primary key (id)=(1)"),
        (9, None, "duplicate primary key (id)=(7)"),
        (10, None, "duplicate primary key (id)=(2)"),
    ]
    assert rows == 8


@pytest.mark.parametrize("chunk_size", [1, 64, 1 << 20])
def test_duplicate_composite_keys_in_a_file_with_bad_rows(chunk_size: int) -> None:
    pair = small_dataset(
        [
            {"name": "site", "type": "text", "max_length": 12, "nullable": False},
            {"name": "n", "type": "int", "nullable": False},
        ],
        primary_key=["n", "site"],
    )
    data = b'site,n\na,x\na,1\nb,1\n"a",1\na,2\nb,+1\n'
    _rows, payload, rejects = validate_file(pair, data, chunk_size=chunk_size, keys=True)
    assert payload == b"a,1\nb,1\na,2\n"
    assert [(r.line, r.reason) for r in rejects][1:] == [
        (5, "duplicate primary key (n, site)=(1, a): an earlier row has the same key"),
        (7, "duplicate primary key (n, site)=(1, b): an earlier row has the same key"),
    ]


def test_orders_rows(orders: Dataset) -> None:
    good = [order_row(1), order_row(2, note="", delivery_date=""), order_row(3, is_gift="YES")]
    bad = [
        order_row(4, ordered_at="2026-13-01T00:00:00Z"),
        order_row(5, status="lost", amount="1.999"),
    ]
    data = ("\r\n".join([ORDERS_HEADER, *good, *bad]) + "\r\n").encode()
    rows, payload, rejects = validate_file(orders, data, chunk_size=1 << 16)
    assert rows == 5
    assert payload.count(b"\r\n") == 3
    assert [(r.line, r.column, r.reason) for r in rejects] == [
        (5, "ordered_at", '"2026-13-01T00:00:00Z" is not a valid timestamp'),
        (6, "amount", '"1.999" has more than 2 digits after the point'),
        (6, "status", '"lost" is not one of new, paid, shipped, cancelled'),
    ]


def test_fast_path_defers_to_exact_rules() -> None:
    """Values the chunk regex leaves out but PostgreSQL takes are still loaded."""
    ds = small_dataset(
        [
            {"name": "i", "type": "int", "nullable": False},
            {"name": "d", "type": "date", "nullable": False},
        ]
    )
    data = b"i,d\n2147483647,2024-02-29\n0000000042,2026-01-01\n"
    _rows, payload, rejects = validate_file(ds, data)
    assert rejects == []
    assert payload == data[4:]


def test_key_set_is_compact_and_all_or_nothing() -> None:
    keys = KeySet(window=1 << 20)
    assert keys.add_new(list(range(1000, 101_000)))
    assert len(keys._bits) <= 2 * (100_000 // 8 + 1)  # a bitmap, not objects
    assert 1000 in keys
    assert 999 not in keys  # below the first key: kept in the set part
    assert not keys.add_new([5, 6, 100_999])  # one seen before: nothing added
    assert 5 not in keys
    assert not keys.add_new([7, 7])  # repeats within the batch
    assert 7 not in keys
    assert keys.add_new([7, 10**12, "text", ("a", 1)])
    assert 10**12 in keys
    assert "text" in keys
    assert ("a", 1) in keys
    assert len(keys) == 100_000 + 4


def test_key_set_adds_runs_of_sequential_ids_in_bulk() -> None:
    keys = KeySet(window=1 << 20)
    assert keys.add_new(list(range(5, 1005)))
    assert keys.add_new(list(range(1005, 2005)))  # the next run: no repeat
    assert len(keys) == 2000
    assert 5 in keys
    assert 2004 in keys
    assert 2005 not in keys
    assert not keys.add_new(list(range(1900, 2100)))  # overlaps the end of the last run
    assert 2005 not in keys  # nothing of a refused run is added
    assert not keys.add_new([4, *range(6, 106)])  # ascending, not consecutive: one repeat
    assert 4 not in keys
    assert keys.add_new(list(range(3000, 3100)))  # a gap before the run is fine
    assert not keys.add_new(list(range(3099, 3199)))  # its first key (an edge bit) repeats
    assert len(keys) == 2100


def test_key_set_reports_overflow_of_its_bounded_part() -> None:
    keys = KeySet(max_others=3)
    assert keys.add_new(["a", "b", "c"])
    assert not keys.overflowed
    assert keys.add_new(["d"])
    assert keys.overflowed


def test_key_set_add_each_reports_the_repeats_and_keeps_the_rest() -> None:
    keys = KeySet()
    assert keys.add_new(list(range(100)))
    assert keys.add_each([100, 5, 101, 100, "a", "a"]) == {1, 3, 5}
    assert 101 in keys
    assert "a" in keys
    assert len(keys) == 103


BAD_ORDER_ROWS = [
    order_row(0, ordered_at="2026-13-01T00:00:00Z"),
    order_row(0, amount="1.999"),
    order_row(0, quantity="99999999999"),
    order_row(0, status="lost"),
    order_row(0) + ",extra",
    "",  # a blank line
    order_row(0, customer='"Zoë ""Z"""'),  # good, quoted with doubled quotes
    order_row(0, note='"two\r\nlines"'),  # good, spans two lines
    order_row(0, order_id='"8"'),  # good, a quoted key
]
# Rows inside which a bulk match can start (the split gives up on such a chunk).
MISALIGNING_ROWS = [
    order_row(0, note='"a""b'),  # an unbalanced quote: swallows the next line
    order_row(0, order_id="007"),  # good, a non-canonical key ("7,..." matches inside it)
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("keys", [True, False])
@pytest.mark.parametrize("misaligning", [False, True])
def test_bulk_split_of_a_dirty_chunk_agrees_with_the_record_path(
    orders: Dataset, seed: int, keys: bool, misaligning: bool
) -> None:
    """The one-pass split gives what checking each record from the start gives."""
    import random

    rng = random.Random(seed)
    pool = BAD_ORDER_ROWS + (MISALIGNING_ROWS if misaligning else [])
    rows = []
    for i in range(1, 400):
        if rng.random() < 0.1:
            rows.append(rng.choice(pool).replace("0,", f"{i},", 1))
        else:
            rows.append(order_row(rng.randrange(1, 600) if rng.random() < 0.05 else i))
    text = "\r\n".join(rows) + "\r\n"
    order = map_header(orders, parse_header(ORDERS_HEADER.encode(), ","))
    split = RowValidator(orders, order, "\r\n")._split_rows(text, 2, KeySet() if keys else None)
    record = RowValidator(orders, order, "\r\n")._per_record(text, 2, KeySet() if keys else None)
    if split is None:  # a match started inside a bad record: the caller checks per record
        assert misaligning
        return
    assert (split.rows, split.good, split.segments) == (record.rows, record.good, record.segments)
    assert split.rejects == record.rejects


def test_bulk_split_takes_most_dirty_chunks(orders: Dataset) -> None:
    rows = [order_row(i) for i in range(1, 200)]
    rows[50] = order_row(51, status="lost")
    rows[120] = order_row(3)  # a repeated key
    text = "\r\n".join(rows) + "\r\n"
    order = map_header(orders, parse_header(ORDERS_HEADER.encode(), ","))
    result = RowValidator(orders, order, "\r\n")._split_rows(text, 2, KeySet())
    assert result is not None
    assert (result.rows, result.good) == (199, 197)
    assert [(r.line, r.column) for r in result.rejects] == [(52, "status"), (122, None)]
