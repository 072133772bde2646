"""Field rules per column type: a fast regular expression and an exact checker.

Every value the loader sends to PostgreSQL has passed one of these rules, and
each rule accepts a subset of what PostgreSQL's own input functions accept, so
``COPY`` never aborts on a row that passed. Where PostgreSQL is lenient the
loader is stricter (documented in bench/README.md and the module docs):

* integers: optional sign and ASCII digits only, within the type's range
  (PostgreSQL also allows surrounding spaces, and from 16 on, underscores and
  hex/octal/binary forms);
* numeric(p,s): plain decimal notation, at most ``s`` digits after the point
  (PostgreSQL silently rounds extra digits; we refuse to lose data) and at most
  ``p-s`` significant digits before it; no exponent, no NaN/Infinity;
* double: decimal with optional exponent; finite and representable (PostgreSQL
  rejects overflow and underflow to zero too); NaN/Infinity only with
  ``allow_special``;
* boolean: true/false, t/f, yes/no, y/n, on/off, 1/0 in any case (PostgreSQL
  also accepts unique prefixes such as ``tr`` and surrounding spaces);
* date: ``YYYY-MM-DD``, years 0001-9999, real calendar days;
* timestamptz: ISO 8601 ``YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]`` followed by a
  zone designator ``Z`` or ``±HH[[:]MM]`` (hours up to 14). A timestamp
  without an offset is rejected: its meaning would depend on a server setting;
* text: at most ``max_length`` characters, no NUL, valid UTF-8;
* enum: one of the declared values, exactly (case-sensitive, as PostgreSQL).

CSV conventions: an empty unquoted field is NULL; a quoted empty field ``""`` is
the empty string (valid for text, an error for every other type). Values of
any type may be quoted.

Two forms of each rule exist. :func:`fast_pattern` is a regular-expression
fragment used over whole chunks of rows at once (the hot path: no per-field
Python calls); it is allowed to be stricter than :func:`check` (e.g. it sends
10-digit integers or leading zeros in a key to the exact checker).
:func:`check` decides single values exactly and words the error.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from ferry.csvload.config import INT_RANGES, Column

# Bytes that are not valid UTF-8 are decoded with "surrogateescape" to lone
# surrogates U+DC80..U+DCFF; no accepted value may contain them, nor NUL.
BAD_CHARS = "\x00\udc80-\udcff"
_YEAR = r"(?!0000)[0-9]{4}"
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
_LEAP_DAY = (
    r"(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26]|0[48])00)-02-29"
)
DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:0[0-9]|1[0-4])(?::?[0-5][0-9])?)"
TIMESTAMPTZ = rf"{DATE}[T ]{_TIME}{_OFFSET}"
BOOLEAN = r"(?i:true|false|yes|no|on|off|t|f|y|n|1|0)"
_SPECIAL = r"(?i:[+-]?inf(?:inity)?|nan)"
_INT_FAST_DIGITS = {"smallint": 4, "int": 9, "bigint": 18}

_DATE_RE = re.compile(DATE)
_TS_RE = re.compile(TIMESTAMPTZ)
_BOOL_RE = re.compile(BOOLEAN)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_NUMERIC_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DOUBLE_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL_RE = re.compile(_SPECIAL)
_BAD_CHAR_RE = re.compile(f"[{BAD_CHARS}]")


def _numeric_value(col: Column) -> str:
    p, s = col.precision or 0, col.scale or 0
    whole = p - s
    if s == 0:
        return rf"[+-]?[0-9]{{1,{whole}}}\.?"
    if whole == 0:
        return rf"[+-]?0?\.[0-9]{{1,{s}}}"
    return rf"[+-]?(?:[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{s}}})?|\.[0-9]{{1,{s}}})"


def value_pattern(col: Column) -> str:
    """Fast regex for a non-empty, non-text value (no quotes, delimiters or line breaks)."""
    match col.type:
        case "smallint" | "int" | "bigint":
            return rf"[+-]?[0-9]{{1,{_INT_FAST_DIGITS[col.type]}}}"
        case "numeric":
            return _numeric_value(col)
        case "double":
            fast = r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,17})?|\.[0-9]{1,17})(?:[eE][+-]?[0-9]{1,2})?"
            return f"(?:{fast}|{_SPECIAL})" if col.allow_special else fast
        case "boolean":
            return BOOLEAN
        case "date":
            return DATE
        case "timestamptz":
            return TIMESTAMPTZ
        case "enum":
            return (
                "(?:"
                + "|".join(re.escape(v) for v in sorted(col.values, key=len, reverse=True))
                + ")"
            )
    raise ValueError(f"no value pattern for {col.type}")


def key_pattern(col: Column, delimiter: str) -> str:
    """Fast regex for a primary-key field with one capture group holding its canonical text.

    Only canonical spellings pass here (no sign on zero, no leading zeros, no
    quotes), so equal captures mean equal keys; anything else goes to
    :func:`check`, which computes the canonical form.
    """
    match col.type:
        case "smallint" | "int" | "bigint":
            n = _INT_FAST_DIGITS[col.type]
            return rf"(0|-?[1-9][0-9]{{0,{n - 1}}})"
        case "text":
            d = re.escape(delimiter)
            return rf'([^"{d}\r\n{BAD_CHARS}]{{1,{col.max_length}}}+)'
        case _:
            return f"({value_pattern(col)})"


def fast_pattern(col: Column, delimiter: str) -> str:
    """Fast regex for one whole CSV field (quoted or not, NULL when allowed); no groups."""
    d = re.escape(delimiter)
    if col.type == "text":
        n = col.max_length
        unquoted = rf'[^"{d}\r\n{BAD_CHARS}]{{{0 if col.nullable else 1},{n}}}+'
        plain = rf'"[^"{BAD_CHARS}]{{0,{n}}}+"'
        escaped = rf'"(?:[^"{BAD_CHARS}]|""){{0,{n}}}+"'
        return f"(?:{unquoted}(?![^{d}\r\n])|{plain}|{escaped})"
    v = value_pattern(col)
    field = f'(?:{v}|"{v}")'
    return f"{field}?" if col.nullable else field


# --- exact checks -------------------------------------------------------------


def describe_value(raw: str, limit: int = 80) -> str:
    shown = raw if len(raw) <= limit else raw[:limit] + "..."
    return '"' + shown.encode("unicode_escape", "backslashreplace").decode("ascii") + '"'


def check(col: Column, value: str | None) -> tuple[str | None, str | None]:
    """Decide one value exactly: ``(error, canonical key text)``.

    ``value`` is the field's content after CSV unquoting, or ``None`` for an
    unquoted empty field (NULL). ``error`` is ``None`` when PostgreSQL will
    accept the value; the canonical text is what equal keys share.
    """
    if value is None:
        if col.nullable:
            return None, None
        return "is empty (NULL), but the column is NOT NULL", None
    if _BAD_CHAR_RE.search(value):
        if "\x00" in value:
            return f"{describe_value(value)} contains a NUL byte", None
        return f"{describe_value(value)} is not valid UTF-8", None
    kind = col.type
    if kind == "text":
        if len(value) > (col.max_length or 0):
            return (
                f"is {len(value)} characters long, the limit is {col.max_length}",
                None,
            )
        return None, value
    if value == "":
        return f'"" (a quoted empty string) is not a valid {col.describe}', None
    bad = f"{describe_value(value)} is not a valid {col.describe}"
    if kind in INT_RANGES:
        if not _INT_RE.fullmatch(value):
            return bad, None
        number = int(value)
        lo, hi = INT_RANGES[kind]
        if not lo <= number <= hi:
            return f"{describe_value(value)} is out of range for {kind} ({lo} to {hi})", None
        return None, str(number)
    if kind == "numeric":
        if not _NUMERIC_RE.fullmatch(value):
            return bad, None
        p, s = col.precision or 0, col.scale or 0
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            return bad, None
        fraction = value.partition(".")[2]
        if len(fraction.rstrip("0")) > s:
            return f"{describe_value(value)} has more than {s} digits after the point", None
        if abs(number) >= Decimal(10) ** (p - s):
            return f"{describe_value(value)} does not fit numeric({p},{s})", None
        return None, str(number)
    if kind == "double":
        if _SPECIAL_RE.fullmatch(value):
            if col.allow_special:
                return None, value
            return f"{describe_value(value)} (NaN/Infinity) is not allowed in this column", None
        if not _DOUBLE_RE.fullmatch(value):
            return bad, None
        number = float(value)
        if math.isinf(number):
            return f"{describe_value(value)} is out of range for a double", None
        mantissa = value.lstrip("+-").split("e")[0].split("E")[0]
        if number == 0.0 and mantissa.strip("0.") != "":
            return f"{describe_value(value)} is too close to zero for a double", None
        return None, value
    if kind == "boolean":
        return (None, value.lower()) if _BOOL_RE.fullmatch(value) else (bad, None)
    if kind == "date":
        return (None, value) if _DATE_RE.fullmatch(value) else (bad, None)
    if kind == "timestamptz":
        if _TS_RE.fullmatch(value):
            return None, value
        if re.fullmatch(rf"{DATE}[T ]{_TIME}", value):
            return f"{bad}: it has no UTC offset (add Z or +HH:MM)", None
        return bad, None
    if kind == "enum":
        if value in col.values:
            return None, value
        return f"{describe_value(value)} is not one of {', '.join(col.values)}", None
    raise ValueError(f"unknown column type {kind}")  # pragma: no cover
