"""CSV dataset specifications: what a file must look like and where its rows go.

A dataset is declared in the processing configuration under ``datasets``::

    "orders": {
      "table": "sales.orders",
      "delimiter": ",",
      "primary_key": ["order_id"],
      "reject_threshold": {"max_rows": 1000, "max_fraction": 0.01},
      "columns": [
        {"name": "order_id", "type": "bigint"},
        {"name": "customer", "type": "text", "max_length": 64, "nullable": false},
        {"name": "amount", "type": "numeric", "precision": 12, "scale": 2},
        {"name": "status", "type": "enum", "values": ["new", "paid"]},
        ...
      ]
    }

Column types: ``smallint``, ``int``, ``bigint``, ``numeric`` (``precision``,
``scale``), ``double`` (``allow_special``: accept NaN/Infinity, default false),
``boolean``, ``date``, ``timestamptz``, ``text`` (``max_length`` in characters,
required) and ``enum`` (``values``). ``nullable`` defaults to true; primary-key
columns are never nullable. Names are lowercase SQL identifiers; the file's
header matches them case-insensitively, in any order. A column read from a
header that is not its name says so with ``header`` (``{"name":
"contact_phone_number", "header": "Contact Phone Number", ...}``: spaces,
punctuation, any case), and ``ignore_headers`` lists header columns files
carry that are not loaded. Headers match trimmed and case-insensitively.

:func:`parse_dataset` checks everything and raises :class:`DatasetError` with
the exact place: ``datasets.orders.columns[3].scale: must be <= precision (2)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED_DELIMITERS = {'"', "\r", "\n", "\x00"}
INT_RANGES: dict[str, tuple[int, int]] = {
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
TYPES = ("smallint", "int", "bigint", "numeric", "double", "boolean", "date", "timestamptz")
TYPES += ("text", "enum")
_ALIASES = {"integer": "int", "int4": "int", "int8": "bigint", "int2": "smallint"}
_ALIASES |= {"double precision": "double", "float8": "double", "bool": "boolean"}
#: Types a primary key may use: their canonical text form is easy to compare.
KEY_TYPES = frozenset({"smallint", "int", "bigint", "text", "enum", "date"})
MAX_NUMERIC_PRECISION = 1000
MAX_TEXT_LENGTH = 10_485_760  # PostgreSQL's varchar(n) limit


def header_key(text: str) -> str:
    """Headers match whatever their case and surrounding spaces."""
    return text.strip().casefold()


class DatasetError(ValueError):
    """A dataset specification is invalid; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    max_length: int | None = None  # text
    precision: int | None = None  # numeric
    scale: int | None = None  # numeric
    values: tuple[str, ...] = ()  # enum
    allow_special: bool = False  # double: NaN, Infinity, -Infinity
    header: str | None = None  # the file's header for this column, when not its name
    ignored: bool = False  # a header column the dataset ignores (never loaded)

    @property
    def header_key(self) -> str:
        """How the file's header is matched: trimmed, case-insensitive."""
        return header_key(self.header or self.name)

    @property
    def sql_type(self) -> str:
        """The PostgreSQL column type the migration creates."""
        match self.type:
            case "int":
                return "integer"
            case "double":
                return "double precision"
            case "numeric":
                return f"numeric({self.precision},{self.scale})"
            case "text":
                return f"varchar({self.max_length})"
            case "enum":
                return "text"  # membership enforced by a CHECK constraint (see migrate)
            case _:
                return self.type

    @property
    def describe(self) -> str:
        """The type as people read it, for error messages."""
        match self.type:
            case "smallint" | "int" | "bigint":
                return f"integer ({self.type})"
            case "numeric":
                return f"numeric({self.precision},{self.scale})"
            case "double":
                return "number"
            case "timestamptz":
                return "timestamp"
            case "text":
                return f"text(max {self.max_length})"
            case _:
                return self.type


@dataclass(frozen=True, slots=True)
class RejectThreshold:
    """The file is rejected when the bad rows exceed either limit (``None``: no limit)."""

    max_rows: int | None = 0
    max_fraction: float | None = None

    def exceeded(self, rejected: int, total: int) -> bool:
        if self.max_rows is not None and rejected > self.max_rows:
            return True
        return self.max_fraction is not None and total > 0 and rejected / total > self.max_fraction

    def describe(self) -> str:
        parts = []
        if self.max_rows is not None:
            parts.append(f"at most {self.max_rows} rows")
        if self.max_fraction is not None:
            parts.append(f"at most {self.max_fraction:.4%} of the rows")
        return " and ".join(parts) or "no limit"


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    schema: str
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    delimiter: str = ","
    threshold: RejectThreshold = field(default_factory=RejectThreshold)
    max_record_bytes: int = 1 << 20
    ignore_headers: tuple[str, ...] = ()  # header columns present in files, never loaded

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column:
        return self.by_name[name]


def _fail(where: str, message: str) -> DatasetError:
    return DatasetError(f"{where}: {message}")


def _ident(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise _fail(
            where, f"{value!r} is not a lowercase SQL identifier ([a-z_][a-z0-9_]*, max 63 chars)"
        )
    return value


def _int(value: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(where, f"must be an integer between {lo} and {hi}, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"must be true or false, got {value!r}")
    return value


def _check_keys(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(where, f"unknown keys {unknown} (allowed: {sorted(allowed)})")


def _parse_column(raw: Any, where: str, delimiter: str) -> Column:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object with name and type")
    base = {"name", "type", "nullable", "description", "header"}
    name = _ident(raw.get("name"), f"{where}.name")
    header = raw.get("header")
    if header is not None:
        header = _header_text(header, f"{where}.header")
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise _fail(f"{where}.type", f"must be one of {list(TYPES)}")
    kind = _ALIASES.get(kind.lower(), kind.lower())
    if kind not in TYPES:
        raise _fail(f"{where}.type", f"unknown type {raw.get('type')!r}; expected one of {TYPES}")
    nullable = _bool(raw.get("nullable", True), f"{where}.nullable")
    extra: dict[str, Any] = {}
    if kind == "text":
        _check_keys(raw, base | {"max_length"}, where)
        if "max_length" not in raw:
            raise _fail(f"{where}.max_length", "required for text columns")
        extra["max_length"] = _int(raw["max_length"], f"{where}.max_length", 1, MAX_TEXT_LENGTH)
    elif kind == "numeric":
        _check_keys(raw, base | {"precision", "scale"}, where)
        p = _int(raw.get("precision"), f"{where}.precision", 1, MAX_NUMERIC_PRECISION)
        s = _int(raw.get("scale", 0), f"{where}.scale", 0, MAX_NUMERIC_PRECISION)
        if s > p:
            raise _fail(f"{where}.scale", f"must be <= precision ({p}), got {s}")
        extra.update(precision=p, scale=s)
    elif kind == "double":
        _check_keys(raw, base | {"allow_special"}, where)
        extra["allow_special"] = _bool(raw.get("allow_special", False), f"{where}.allow_special")
    elif kind == "enum":
        _check_keys(raw, base | {"values"}, where)
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise _fail(f"{where}.values", "must be a non-empty list of strings")
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v or len(v) > 63:
                raise _fail(f"{where}.values[{i}]", f"must be a string of 1-63 chars, got {v!r}")
            bad = {'"', "\r", "\n", "\x00", delimiter} & set(v)
            if bad or v != v.strip():
                raise _fail(
                    f"{where}.values[{i}]",
                    f"{v!r} must not contain quotes, line breaks, the delimiter or edge spaces",
                )
        if len(set(values)) != len(values):
            raise _fail(f"{where}.values", "values must be unique")
        extra["values"] = tuple(values)
    else:
        _check_keys(raw, base, where)
    return Column(name=name, type=kind, nullable=nullable, header=header, **extra)


def _header_text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise _fail(where, f"must be a non-blank string of at most 256 characters, got {value!r}")
    if {"\r", "\n", "\x00"} & set(value):
        raise _fail(where, f"{value!r} must not contain line breaks or NUL")
    return value


def _parse_threshold(raw: Any, where: str) -> RejectThreshold:
    if raw is None:
        return RejectThreshold()
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object with max_rows and/or max_fraction")
    _check_keys(raw, {"max_rows", "max_fraction"}, where)
    max_rows = raw.get("max_rows")
    if max_rows is not None:
        max_rows = _int(max_rows, f"{where}.max_rows", 0, 2**62)
    max_fraction = raw.get("max_fraction")
    if max_fraction is not None:
        if isinstance(max_fraction, bool) or not isinstance(max_fraction, int | float):
            raise _fail(f"{where}.max_fraction", f"must be a number, got {max_fraction!r}")
        if not 0 <= max_fraction <= 1:
            raise _fail(f"{where}.max_fraction", f"must be between 0 and 1, got {max_fraction}")
        max_fraction = float(max_fraction)
    if max_rows is None and max_fraction is None:
        raise _fail(where, "set max_rows and/or max_fraction")
    return RejectThreshold(max_rows=max_rows, max_fraction=max_fraction)


def parse_dataset(name: str, raw: Any, where: str | None = None) -> Dataset:
    """Validate one dataset specification (the value under ``datasets.<name>``)."""
    where = where or f"datasets.{name}"
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    _check_keys(
        raw,
        {"table", "columns", "primary_key", "delimiter", "reject_threshold", "description"}
        | {"max_record_bytes", "ignore_headers"},
        where,
    )
    table = raw.get("table")
    if not isinstance(table, str) or table.count(".") != 1:
        raise _fail(f"{where}.table", f"must be schema-qualified ('schema.table'), got {table!r}")
    schema, _, tname = table.partition(".")
    schema = _ident(schema, f"{where}.table (schema)")
    tname = _ident(tname, f"{where}.table (table)")
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in _RESERVED_DELIMITERS:
        raise _fail(
            f"{where}.delimiter",
            f"must be one character other than a quote or line break, got {delimiter!r}",
        )
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, list) or not columns_raw:
        raise _fail(f"{where}.columns", "must be a non-empty list")
    columns = tuple(
        _parse_column(c, f"{where}.columns[{i}]", delimiter) for i, c in enumerate(columns_raw)
    )
    seen: set[str] = set()
    headers: dict[str, str] = {}
    for i, c in enumerate(columns):
        if c.name in seen:
            raise _fail(f"{where}.columns[{i}].name", f"duplicate column {c.name!r}")
        seen.add(c.name)
        if c.header_key in headers:
            raise _fail(
                f"{where}.columns[{i}].header",
                f"{c.header or c.name!r} is also the header of column {headers[c.header_key]!r}",
            )
        headers[c.header_key] = c.name
    ignore_raw = raw.get("ignore_headers", [])
    if not isinstance(ignore_raw, list):
        raise _fail(f"{where}.ignore_headers", "must be a list of header names")
    ignore = tuple(
        _header_text(h, f"{where}.ignore_headers[{i}]") for i, h in enumerate(ignore_raw)
    )
    for i, h in enumerate(ignore):
        if header_key(h) in headers:
            raise _fail(
                f"{where}.ignore_headers[{i}]",
                f"{h!r} is the header of column {headers[header_key(h)]!r}",
            )
    pk_raw = raw.get("primary_key", [])
    if isinstance(pk_raw, str):
        pk_raw = [pk_raw]
    if not isinstance(pk_raw, list):
        raise _fail(f"{where}.primary_key", "must be a list of column names")
    pk = tuple(_ident(k, f"{where}.primary_key[{i}]") for i, k in enumerate(pk_raw))
    by_name = {c.name: c for c in columns}
    for i, k in enumerate(pk):
        if k not in by_name:
            raise _fail(f"{where}.primary_key[{i}]", f"no column named {k!r}")
        if by_name[k].type not in KEY_TYPES:
            raise _fail(
                f"{where}.primary_key[{i}]",
                f"column {k!r} is {by_name[k].type};"
                f" key columns must be one of {sorted(KEY_TYPES)}",
            )
    if len(set(pk)) != len(pk):
        raise _fail(f"{where}.primary_key", "lists a column twice")
    columns = tuple(
        Column(**{**_asdict(c), "nullable": False}) if c.name in pk else c for c in columns
    )
    max_record = _int(
        raw.get("max_record_bytes", 1 << 20), f"{where}.max_record_bytes", 1024, 64 << 20
    )
    return Dataset(
        name=name,
        schema=schema,
        table=tname,
        columns=columns,
        primary_key=pk,
        delimiter=delimiter,
        threshold=_parse_threshold(raw.get("reject_threshold"), f"{where}.reject_threshold"),
        max_record_bytes=max_record,
        ignore_headers=ignore,
    )


def _asdict(c: Column) -> dict[str, Any]:
    return {f: getattr(c, f) for f in Column.__slots__}  # type: ignore[attr-defined]


def parse_datasets(raw: Any) -> dict[str, Dataset]:
    """Every dataset under ``datasets`` (a mapping of name -> spec)."""
    if not isinstance(raw, Mapping):
        raise _fail("datasets", "must be an object of name -> dataset spec")
    return {name: parse_dataset(name, spec) for name, spec in raw.items()}
