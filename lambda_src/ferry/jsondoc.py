"""Decoding JSON documents and JSON Lines safely, and reporting schema violations.

Pure functions over bytes. Every problem becomes a :class:`JsonProblem` with a
one-line reason and details that name the line, column or JSON path, so the
file can be rejected with something a person can act on:

* bytes that are not UTF-8 (the offset of the first bad byte);
* syntax errors (line and column), ``NaN``/``Infinity`` (not JSON), numbers
  with more digits than Python converts safely;
* nesting deeper than ``max_depth``: the C decoder stops with RecursionError
  long before the interpreter's stack is at risk (100 000 nested arrays fail
  cleanly), and the depth of what did decode is measured iteratively, so the
  schema validator never recurses into a hostile document.

jsonschema is imported only by :func:`validator` (first use), and compiled
validators are cached per schema name for the life of the execution environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class JsonProblem(ValueError):
    def __init__(self, reason: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or []


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_text(data: bytes) -> str:
    """UTF-8 (a leading BOM is dropped) or :class:`JsonProblem` naming the first bad byte."""
    if not data.strip():
        raise JsonProblem("file is empty" if not data else "file contains only whitespace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise JsonProblem(
            f"not valid UTF-8: byte 0x{data[err.start]:02x} at offset {err.start}",
            [{"offset": err.start, "message": err.reason}],
        ) from None


def depth(value: Any, limit: int) -> int:
    """Nesting depth of a decoded value, counting up to ``limit + 1`` (iterative)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str, *, max_depth: int, line: int | None = None) -> Any:
    """One JSON value; numbers with a fraction or exponent become ``Decimal``."""
    where = f"line {line}: " if line is not None else ""
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except RecursionError:
        raise JsonProblem(
            f"{where}JSON nested too deeply (limit {max_depth} levels)",
            [{"line": line, "message": "nesting too deep"}] if line else [],
        ) from None
    except json.JSONDecodeError as err:
        lineno = err.lineno if line is None else line
        column = err.colno
        raise JsonProblem(
            f"invalid JSON at line {lineno} column {column}: {err.msg}",
            [{"line": lineno, "column": column, "message": err.msg}],
        ) from None
    except ValueError as err:  # NaN/Infinity, integers beyond the digit limit
        problem = JsonProblem(f"{where}invalid JSON: {err}", [{"line": line, "message": str(err)}])
        raise problem from None
    if depth(value, max_depth) > max_depth:
        raise JsonProblem(
            f"{where}JSON nested deeper than {max_depth} levels",
            [{"line": line, "message": f"depth > {max_depth}"}] if line else [],
        )
    return value


@dataclass(slots=True)
class Line:
    number: int
    value: Any = None
    problem: JsonProblem | None = None


def iter_lines(text: str, *, max_depth: int) -> Iterator[Line]:
    """JSON Lines: one value per non-blank line; a bad line is reported, not fatal."""
    # Split on "\n" only: str.splitlines() would also split inside JSON strings
    # that hold U+2028, U+0085 and other characters JSON allows unescaped.
    for number, line in enumerate(text.split("\n"), start=1):
        raw = line.removesuffix("\r")
        if not raw.strip():
            continue
        try:
            yield Line(number, loads(raw, max_depth=max_depth, line=number))
        except JsonProblem as problem:
            yield Line(number, problem=problem)


def looks_like_lines(text: str) -> bool:
    """JSON Lines unless the document starts with ``[`` or ``{`` and parses as one value."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return False
    if stripped.startswith("{"):
        # One object per line has a newline between top-level values.
        first_line = stripped.split("\n", 1)[0].rstrip()
        return first_line.endswith("}") and "\n" in stripped.strip()
    return True


# --- JSON Schema -------------------------------------------------------------------------

_validators: dict[tuple[str, int], Any] = {}


def validator(name: str, schema: Mapping[str, Any] | bool) -> Any:
    """A compiled Draft 2020-12 validator for ``schema`` (cached by name and identity)."""
    cache_key = (name, id(schema))
    compiled = _validators.get(cache_key)
    if compiled is None:
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(schema)
        compiled = Draft202012Validator(schema)
        _validators[cache_key] = compiled
    return compiled


@dataclass(slots=True)
class Violation:
    path: str  # JSON path inside the record, e.g. $.metrics.temp
    message: str
    keyword: str = ""


def violations(compiled: Any, instance: Any, limit: int = 5) -> list[Violation]:
    """Up to ``limit`` schema violations, in document order, with JSON paths."""
    found: list[Violation] = []
    errors = sorted(compiled.iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    for err in errors[:limit]:
        message = err.message if len(err.message) <= 300 else err.message[:299] + "…"
        found.append(Violation(path=err.json_path, message=message, keyword=str(err.validator)))
    return found
