"""Decoding JSON documents and JSON Lines safely, and reporting schema violations.

Pure functions over bytes. Every problem becomes a :class:`JsonProblem` with a
one-line reason and details that name the line, column or JSON path, so the
file can be rejected with something a person can act on:

* bytes that are not UTF-8 (the offset of the first bad byte);
* syntax errors, ``NaN``/``Infinity`` (not JSON), integers longer than
  :data:`MAX_INTEGER_DIGITS` and member names repeated in one object: each with
  its line and column (and the JSON path of the object for a repeated name),
  in ferry's words (never Python's advice text);
* nesting deeper than ``max_depth``: the C decoder stops with RecursionError
  long before the interpreter's stack is at risk (100 000 nested arrays fail
  cleanly), and the depth of what did decode is measured iteratively, so the
  schema validator never recurses into a hostile document.

jsonschema is imported only by :func:`validator` (first use), and compiled
validators are cached per schema name for the life of the execution environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class JsonProblem(ValueError):
    """A problem with a document or record; ``end`` is where the value ended, when known
    (the value was read, but is not acceptable: a repeated member name, too deep)."""

    def __init__(
        self, reason: str, details: list[dict[str, Any]] | None = None, end: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or []
        self.end = end


#: Longest integer read (Python's own conversion limit; a longer one is refused with its place).
MAX_INTEGER_DIGITS = 4300


class _Constant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _no_constants(name: str) -> Any:
    raise _Constant(name)


class _Members(dict):  # type: ignore[type-arg]
    """An object in which a member name was repeated (``repeated`` names it)."""

    __slots__ = ("repeated",)


_repeats: list[_Members] = []


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Members(pairs)
    seen: set[str] = set()
    marked.repeated = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    _repeats.append(marked)
    return marked


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_no_constants, object_pairs_hook=_pairs
)
# A token outside strings: a non-JSON constant or an over-long integer (strings skipped whole).
_TOKEN_RE = re.compile(
    r'"(?:[^"\\]|\\.)*+"|(?P<constant>-?Infinity|NaN)|(?P<long>-?\d{'
    + str(MAX_INTEGER_DIGITS + 1)
    + ",})"
)


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both 1-based, of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


def _find_token(text: str, start: int, group: str) -> int:
    for m in _TOKEN_RE.finditer(text, start):
        if m.group(group):
            return m.start()
    return start  # pragma: no cover - the decoder only complains about tokens it saw


def _path_to(value: Any, target: Any) -> str:
    """JSON path of the container ``target`` inside ``value`` (iterative)."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, node = stack.pop()
        if node is target:
            return path
        if isinstance(node, dict):
            stack.extend((f"{path}.{k}", v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
    return "$"  # pragma: no cover


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


def decode_value(
    text: str,
    start: int = 0,
    *,
    max_depth: int,
    where: str = "",
    locate: Callable[[int], tuple[int, int]] | None = None,
) -> tuple[Any, int]:
    """One JSON value starting at ``start`` (after any whitespace): ``(value, end offset)``.

    Numbers with a fraction or exponent become ``Decimal`` (exact); every problem is a
    :class:`JsonProblem` whose details carry the line and column in ``text``.
    ``where`` prefixes the reason (``"record [3]: "``); ``locate`` turns an offset into
    (line, column) when ``text`` is a window of a larger stream.
    """
    if locate is None:

        def locate(offset: int) -> tuple[int, int]:
            return position(text, offset)

    _repeats.clear()
    try:
        value, end = _DECODER.raw_decode(text, _skip_ws(text, start))
    except RecursionError:
        line, column = locate(start)
        raise JsonProblem(
            f"{where}JSON nested too deeply (limit {max_depth} levels)",
            [{"line": line, "column": column, "message": "nesting too deep"}],
        ) from None
    except json.JSONDecodeError as err:
        line, column = locate(err.pos)
        raise JsonProblem(
            f"{where}invalid JSON at line {line} column {column}: {err.msg}",
            [{"line": line, "column": column, "message": err.msg}],
        ) from None
    except _Constant as err:
        line, column = locate(_find_token(text, start, "constant"))
        message = f"{err.name} is not valid JSON"
        raise JsonProblem(
            f"{where}invalid JSON at line {line} column {column}: {message}",
            [{"line": line, "column": column, "message": message}],
        ) from None
    except ValueError:  # an integer beyond Python's conversion limit
        offset = _find_token(text, start, "long")
        line, column = locate(offset)
        digits = len(_TOKEN_RE.match(text, offset).group().lstrip("-"))  # type: ignore[union-attr]
        message = f"integer of {digits} digits (ferry reads at most {MAX_INTEGER_DIGITS})"
        raise JsonProblem(
            f"{where}invalid JSON at line {line} column {column}: {message}",
            [{"line": line, "column": column, "message": message}],
        ) from None
    if _repeats:
        marked = _repeats[0]
        _repeats.clear()
        path = _path_to(value, marked)
        message = f"member name {marked.repeated!r} appears twice in one object"
        line, column = locate(start)
        raise JsonProblem(
            f"{where}{path}: {message}",
            [{"line": line, "column": column, "path": path, "message": message}],
            end,
        )
    if depth(value, max_depth) > max_depth:
        line, column = locate(start)
        raise JsonProblem(
            f"{where}JSON nested deeper than {max_depth} levels",
            [{"line": line, "column": column, "message": f"depth > {max_depth}"}],
            end,
        )
    return value, end


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def loads(text: str, *, max_depth: int, line: int | None = None) -> Any:
    """One JSON document (nothing but whitespace after it); see :func:`decode_value`.

    ``line``: the document is that line of a JSON Lines file (positions say so).
    """
    try:
        value, end = decode_value(text, max_depth=max_depth)
        end = _skip_ws(text, end)
        if end != len(text):
            at_line, column = position(text, end)
            message = "Extra data after the JSON value"
            raise JsonProblem(
                f"invalid JSON at line {at_line} column {column}: {message}",
                [{"line": at_line, "column": column, "message": message}],
            )
    except JsonProblem as problem:
        if line is None:
            raise
        raise _on_line(problem, line) from None
    return value


def _on_line(problem: JsonProblem, line: int) -> JsonProblem:
    """The problem of a document that is line ``line`` of a file."""
    details = [{**d, "line": line} for d in problem.details] or [{"line": line}]
    reason = problem.reason.replace("at line 1 column", "at column")
    return JsonProblem(f"line {line}: {reason}", details)


def dumps_exact(value: Any) -> str:
    """JSON text of ``value`` with every ``Decimal`` written exactly as decoded (no float)."""
    import secrets

    nonce = secrets.token_hex(8)
    numbers: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal) and obj.is_finite():
            numbers.append(str(obj))
            return f"{nonce}{len(numbers) - 1}"
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    text = json.dumps(value, default=default, ensure_ascii=False, allow_nan=False)
    if not numbers:
        return text
    return re.sub(f'"{nonce}(\\d+)"', lambda m: numbers[int(m.group(1))], text)


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
