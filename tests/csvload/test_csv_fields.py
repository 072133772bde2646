"""Type rules: accept/reject boundaries, and the guarantee that PostgreSQL accepts all we accept.

The differential test feeds a generated set of tricky values through both the
fast (regex over whole chunks) and the exact rules, checks they agree where the
fast rule decides, then COPYs every accepted value into a real table of that
type: PostgreSQL must take all of them, and store what we meant.
"""

from __future__ import annotations

import io
import random
import re

import psycopg
import pytest

from ferry.csvload.config import Column
from ferry.csvload.fields import check, fast_pattern

INT = Column("v", "int")
SMALL = Column("v", "smallint")
BIG = Column("v", "bigint")
NUM = Column("v", "numeric", precision=6, scale=2)
DBL = Column("v", "double")
DBL_SPECIAL = Column("v", "double", allow_special=True)
BOOL = Column("v", "boolean")
DATE = Column("v", "date")
TS = Column("v", "timestamptz")
TEXT = Column("v", "text", max_length=5)
ENUM = Column("v", "enum", values=("new", "paid"))
REQUIRED = Column("v", "int", nullable=False)


def ok(col: Column, value: str | None) -> bool:
    return check(col, value)[0] is None


@pytest.mark.parametrize(
    ("col", "good", "bad"),
    [
        (SMALL, ["32767", "-32768", "0", "+5", "007"], ["32768", "-32769", "1.0", " 1", "1e3"]),
        (
            INT,
            ["2147483647", "-2147483648", "-0"],
            ["2147483648", "-2147483649", "0x10", "1_000", "١٢"],
        ),
        (BIG, ["9223372036854775807", "-9223372036854775808"], ["9223372036854775808", ""]),
        (
            NUM,
            ["9999.99", "-9999.99", ".5", "5.", "0001.50", "1.230"],
            ["10000", "1.234", "NaN", "1e2", "Infinity", "1,5", "--1"],
        ),
        (
            DBL,
            ["1.5", "-0", "1e308", "4.9e-324", "1E-5", ".5"],
            ["1e309", "-1e309", "1e-400", "NaN", "Infinity", "inf", "0x1p3", "1.5f"],
        ),
        (DBL_SPECIAL, ["NaN", "Infinity", "-Infinity", "inf", "-INF", "nan"], ["nan2", "infinit"]),
        (
            BOOL,
            ["true", "FALSE", "t", "F", "yes", "No", "y", "n", "on", "OFF", "1", "0"],
            ["tru", "2", "yess", " true", "null"],
        ),
        (
            DATE,
            ["2026-01-31", "2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"],
            ["2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "0000-01-01", "26-01-01"],
        ),
        (
            TS,
            [
                "2026-01-02T03:04:05Z",
                "2026-01-02 03:04:05+02",
                "2026-01-02T03:04:05.123456-05:30",
                "2026-01-02T03:04+0530",
                "2024-02-29T23:59:59+14:00",
            ],
            [
                "2026-13-01T00:00:00Z",
                "2026-01-02T24:00:00Z",
                "2026-01-02T03:04:60Z",
                "2026-01-02T03:04:05",
                "2026-01-02T03:04:05+15:00",
                "2026-01-02T03:04:05.1234567Z",
                "2026-01-02T03:04:05z",
                "yesterday",
                "2026-02-30T00:00:00Z",
            ],
        ),
        (TEXT, ["", "abcde", "ééééé", "a,b", 'a"b', "a\nb"], ["abcdef", "a\x00b", "\udcff"]),
        (ENUM, ["new", "paid"], ["New", "PAID", "refunded", ""]),
    ],
)
def test_boundaries(col: Column, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert ok(col, value), f"{col.type} should accept {value!r}: {check(col, value)[0]}"
    for value in bad:
        assert not ok(col, value), f"{col.type} should reject {value!r}"


def test_null_and_empty_string() -> None:
    assert ok(INT, None)  # empty unquoted field: NULL in a nullable column
    assert check(REQUIRED, None)[0] == "is empty (NULL), but the column is NOT NULL"
    assert not ok(INT, "")  # quoted "" is an empty string: not an integer
    assert ok(TEXT, "")  # ... but a valid text value


def test_messages() -> None:
    assert check(TS, "2026-13-01T00:00:00Z")[0] == '"2026-13-01T00:00:00Z" is not a valid timestamp'
    assert "has no UTC offset" in (check(TS, "2026-01-01 10:00:00")[0] or "")
    assert check(TEXT, "abcdef")[0] == "is 6 characters long, the limit is 5"
    assert check(NUM, "1.234")[0] == '"1.234" has more than 2 digits after the point'
    assert check(NUM, "10000")[0] == '"10000" does not fit numeric(6,2)'
    assert check(ENUM, "x")[0] == '"x" is not one of new, paid'
    assert check(INT, "3000000000")[0] == (
        '"3000000000" is out of range for int (-2147483648 to 2147483647)'
    )
    assert "NUL" in (check(TEXT, "a\x00")[0] or "")


def test_canonical_keys() -> None:
    assert check(Column("k", "bigint", nullable=False), "+007")[1] == "7"
    assert check(Column("k", "bigint", nullable=False), "-0")[1] == "0"


# --- differential: whatever we accept, PostgreSQL accepts ---------------------

SQL_TYPES = {
    "smallint": "smallint",
    "int": "integer",
    "bigint": "bigint",
    "numeric": "numeric(6,2)",
    "double": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamptz": "timestamptz",
    "text": "varchar(5)",
}


def tricky_values(seed: int = 7, n: int = 400) -> list[str]:
    rng = random.Random(seed)
    pieces = [
        "0", "1", "9", "-", "+", ".", "e", "E", "T", " ", ":", "Z", "z", "x", "é", "00", "99",
        "2026-", "02-29", "12-31", "13-", "T23:59:59", "24:00", "+14", "+15", ":30", "NaN",
        "inf", "Infinity", "true", "t", "on", "of", "1e308", "1e309", "e-400", "32767",
        "2147483647", "2147483648", "9223372036854775807", "9223372036854775808", "\n", ",",
    ]  # fmt: skip
    values = {
        "",
        "0000-01-01", "2000-02-29", "2100-02-29", "1900-02-29", "2400-02-29",
        "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
        "99.999", "9999.99", "9999.995", "-0.00", "00000000009999.99",
        "1.7976931348623157e308", "1.8e308", "2.2250738585072014e-308", "4e-324", "3e-324",
        "-2147483648", "-32768", "-9223372036854775808", "0x1A", "1_000",
    }  # fmt: skip
    while len(values) < n:
        values.add("".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))))
    return sorted(values)


def _copy_one(conn: psycopg.Connection, sql_type: str, value: str) -> str | None:
    """COPY one CSV field into a column of ``sql_type``; PostgreSQL's error, if any."""
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS probe (v {sql_type})")
    try:
        with conn.transaction(), conn.cursor().copy("COPY probe (v) FROM STDIN (FORMAT csv)") as cp:
            cp.write(('"' + value.replace('"', '""') + '"\n').encode("utf-8"))
    except psycopg.Error as err:
        return str(err).splitlines()[0]
    finally:
        conn.execute("DROP TABLE probe")
    return None


@pytest.mark.postgres
@pytest.mark.parametrize("kind", sorted(SQL_TYPES))
def test_postgres_accepts_everything_we_accept(pg_conn: psycopg.Connection, kind: str) -> None:
    col = {
        "smallint": SMALL, "int": INT, "bigint": BIG, "numeric": NUM, "double": DBL,
        "boolean": BOOL, "date": DATE, "timestamptz": TS, "text": TEXT,
    }[kind]  # fmt: skip
    fast = re.compile(fast_pattern(col, ","))
    accepted = []
    for value in tricky_values():
        exact = ok(col, value)  # the value as quoted field content
        quoted = '"' + value.replace('"', '""') + '"'
        # the fast rule may leave values to the exact rule, never accept more
        if fast.fullmatch(quoted):
            assert exact, f"fast rule accepts quoted {value!r} that the exact rule rejects"
        if fast.fullmatch(value):  # unquoted: an empty field is NULL
            assert ok(col, value or None), f"fast rule accepts {value!r}, exact rule does not"
        if exact:
            accepted.append(value)
    assert accepted, "the generated set must exercise accepted values too"
    # all accepted values in one COPY: PostgreSQL must take every one
    pg_conn.execute(f"CREATE TEMP TABLE accepted (v {SQL_TYPES[kind]})")
    try:
        payload = "".join('"' + v.replace('"', '""') + '"\n' for v in accepted).encode()
        with pg_conn.cursor().copy("COPY accepted (v) FROM STDIN (FORMAT csv)") as cp:
            cp.write(payload)
        count = pg_conn.execute("SELECT count(*) FROM accepted").fetchone()
        assert count is not None
        assert count[0] == len(accepted)
    finally:
        pg_conn.execute("DROP TABLE accepted")


@pytest.mark.postgres
def test_postgres_rejects_what_we_call_invalid_in_the_core_cases(
    pg_conn: psycopg.Connection,
) -> None:
    """Sanity of the boundary tables above: these are real PostgreSQL errors, not our taste."""
    for sql_type, value in [
        ("integer", "2147483648"),
        ("numeric(6,2)", "10000"),
        ("double precision", "1e309"),
        ("double precision", "1e-400"),
        ("date", "2026-02-29"),
        ("timestamptz", "2026-13-01T00:00:00Z"),
        ("varchar(5)", "abcdef"),
        ("boolean", "tru2"),
    ]:
        assert _copy_one(pg_conn, sql_type, value) is not None, (sql_type, value)


def test_value_stream_is_exercised() -> None:
    values = tricky_values()
    assert len(values) == 400
    assert io.StringIO("\n".join(values)).read()  # deterministic set, no empty generator
