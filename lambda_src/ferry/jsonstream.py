"""The records of a JSON Lines file or a JSON array, read as a stream with bounded memory.

:func:`records` reads ``read(n)`` (an S3 streaming body) piece by piece and yields
``(location, value)`` for each record, where ``location`` is ``"line N"`` (JSON
Lines) or ``"[i]"`` (an array, or the ``records`` array of ``{"records": [...]}``)
and ``value`` is the decoded record or the :class:`~ferry.jsondoc.JsonProblem`
that makes it invalid. Memory holds one window of text of about
``max_record_chars`` plus one read, whatever the size of the file.

Each record is decoded by the standard library's C decoder with ferry's rules
(:func:`ferry.jsondoc.decode_value`: exact numbers, no repeated member names,
positions for every error). In JSON Lines a bad line is one invalid record and
the next line is read as usual. In an array, a record that decodes but is not
acceptable (a repeated member name, too deep, too long) is one invalid record;
a syntax error leaves no way to know where the next record starts, so it stops
the file with its line, column and record index (a :class:`JsonProblem` raised
by the generator).

Why not ijson: its C backend crashes the process on an integer of a few
thousand digits and cannot report a repeated member name (a mapping that
refuses one turns into a ``SystemError``); its pure-Python backend reads about
3 MB/s, too slow for the files this exists for. Cutting records out of the text
and decoding each with the C decoder is exact, bounded and several times faster.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import Any

from ferry.jsondoc import JsonProblem, decode_value, loads

Read = Callable[[int], bytes]
DEFAULT_CHUNK = 1 << 20
_WS = " \t\r\n"


class Window:
    """UTF-8 text of a byte stream, held as a sliding window with absolute line/column."""

    def __init__(self, read: Read, *, chunk_size: int = DEFAULT_CHUNK) -> None:
        self._read = read
        self.chunk_size = chunk_size
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.bytes_read = 0
        self._first = True
        self._base_line = 1  # line number at buf[0]
        self._base_column = 1  # column at buf[0]
        self.max_buffer = 0  # largest window held, for tests of the memory bound

    def _more(self) -> bool:
        """Append one more decoded piece; False at end of stream."""
        while not self.eof:
            data = self._read(self.chunk_size)
            final = not data
            pending = len(self._decoder.getstate()[0])
            try:
                text = self._decoder.decode(data, final=final)
            except UnicodeDecodeError as err:
                offset = self.bytes_read - pending + err.start
                bad = err.object[err.start] if err.start < len(err.object) else 0
                raise JsonProblem(
                    f"not valid UTF-8: byte 0x{bad:02x} at offset {offset}",
                    [{"offset": offset, "message": err.reason}],
                ) from None
            self.bytes_read += len(data)
            self.eof = final
            if self._first and text:
                text = text.removeprefix("\ufeff")
                self._first = False
            if text:
                self._compact()
                self.buf += text
                self.max_buffer = max(self.max_buffer, len(self.buf))
                return True
        return False

    def _compact(self) -> None:
        if self.pos < self.chunk_size // 2 or self.pos == 0:
            return
        dropped = self.buf[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self._base_line += newlines
            self._base_column = len(dropped) - dropped.rfind("\n")
        else:
            self._base_column += len(dropped)
        self.buf = self.buf[self.pos :]
        self.pos = 0

    def fill(self, ahead: int) -> None:
        """Make at least ``ahead`` characters available after ``pos`` (fewer at the end)."""
        while len(self.buf) - self.pos < ahead and self._more():
            pass

    def skip_ws(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the stream."""
        while True:
            buf, pos, n = self.buf, self.pos, len(self.buf)
            while pos < n and buf[pos] in _WS:
                pos += 1
            self.pos = pos
            if pos < n:
                return buf[pos]
            if not self._more():
                return ""

    def locate(self, offset: int) -> tuple[int, int]:
        """(line, column) of ``buf[offset]`` in the whole stream."""
        newline = self.buf.rfind("\n", 0, offset)
        line = self._base_line + self.buf.count("\n", 0, offset)
        column = offset - newline if newline >= 0 else self._base_column + offset
        return line, column


def _problem(window: Window, offset: int, message: str, where: str = "") -> JsonProblem:
    line, column = window.locate(offset)
    return JsonProblem(
        f"{where}invalid JSON at line {line} column {column}: {message}",
        [{"line": line, "column": column, "message": message}],
    )


def lines(window: Window, *, max_depth: int, max_record_chars: int) -> Iterator[tuple[str, Any]]:
    """JSON Lines: one record per non-blank line (split on line feeds only)."""
    number = 1
    while True:
        newline = window.buf.find("\n", window.pos)
        while newline < 0 and len(window.buf) - window.pos <= max_record_chars:
            if not window._more():
                break
            newline = window.buf.find("\n", window.pos)
        if newline < 0 and len(window.buf) - window.pos > max_record_chars:
            # A line longer than any record may be: skip to its end, keep nothing.
            while newline < 0:
                window.pos = len(window.buf)
                if not window._more():
                    break
                newline = window.buf.find("\n", window.pos)
            yield f"line {number}", _too_long(number, max_record_chars)
        else:
            end = newline if newline >= 0 else len(window.buf)
            text = window.buf[window.pos : end].removesuffix("\r")
            if len(text) > max_record_chars:
                yield f"line {number}", _too_long(number, max_record_chars)
            elif text.strip(_WS):
                yield f"line {number}", _line_record(text, number, max_depth)
        if newline < 0:
            window.pos = len(window.buf)
            return
        window.pos = newline + 1
        number += 1


def _too_long(number: int, limit: int) -> JsonProblem:
    message = f"longer than {limit} characters"
    return JsonProblem(f"line {number}: {message}", [{"line": number, "message": message}])


def _line_record(text: str, number: int, max_depth: int) -> Any:
    try:
        return loads(text, max_depth=max_depth, line=number)
    except JsonProblem as problem:
        return problem


def _value(
    window: Window, *, max_depth: int, max_chars: int, where: str
) -> tuple[Any, JsonProblem | None]:
    """Decode the value at ``pos`` and move past it; (value, problem) or a fatal JsonProblem."""
    window.fill(max_chars + 1)
    start = window.pos
    try:
        value, end = decode_value(
            window.buf, start, max_depth=max_depth, where=where, locate=window.locate
        )
    except JsonProblem as problem:
        if problem.end is None:
            if not window.eof and len(window.buf) - start > max_chars:
                raise JsonProblem(
                    f"{problem.reason} (or a record longer than {max_chars} characters)",
                    problem.details,
                ) from None
            raise
        window.pos = problem.end
        return None, problem
    window.pos = end
    if end - start > max_chars:
        line, column = window.locate(start)
        message = f"longer than {max_chars} characters"
        return None, JsonProblem(
            f"{where}{message}", [{"line": line, "column": column, "message": message}]
        )
    return value, None


def _array(window: Window, *, max_depth: int, max_chars: int) -> Iterator[tuple[str, Any]]:
    """The elements of the array whose ``[`` is at ``pos``."""
    window.pos += 1
    index = 0
    if window.skip_ws() == "]":
        window.pos += 1
        return
    while True:
        window.skip_ws()
        where = f"record [{index}]: "
        value, problem = _value(window, max_depth=max_depth, max_chars=max_chars, where=where)
        yield f"[{index}]", problem if problem is not None else value
        following = window.skip_ws()
        if following == ",":
            window.pos += 1
            index += 1
            continue
        if following == "]":
            window.pos += 1
            return
        raise _problem(
            window,
            window.pos,
            "expected ',' or ']' after a record" if following else "the array never ends",
            f"after record [{index}]: ",
        )


def _envelope(window: Window, *, max_depth: int, max_chars: int) -> Iterator[tuple[str, Any]]:
    """``{"records": [...], ...}``: the records array streamed, other members read whole."""
    window.pos += 1
    names: set[str] = set()
    following = window.skip_ws()
    while following != "}":
        if following != '"':
            raise _problem(window, window.pos, "expected a member name in double quotes")
        name, problem = _value(window, max_depth=1, max_chars=max_chars, where="")
        if name in names:
            raise _problem(window, window.pos, f"member name {name!r} appears twice")
        names.add(name)
        if window.skip_ws() != ":":
            raise _problem(window, window.pos, "expected ':' after a member name")
        window.pos += 1
        following = window.skip_ws()
        if name == "records" and following == "[":
            yield from _array(window, max_depth=max_depth, max_chars=max_chars)
        else:
            value, problem = _value(window, max_depth=max_depth, max_chars=max_chars, where="")
            if problem is not None:
                raise problem
            if name == "records":
                raise JsonProblem(
                    f"expected a JSON array of records (or JSON Lines), got records as a "
                    f"JSON {type(value).__name__}"
                )
        following = window.skip_ws()
        if following == ",":
            window.pos += 1
            following = window.skip_ws()
        elif following != "}":
            raise _problem(window, window.pos, "expected ',' or '}' after a member")
    window.pos += 1
    if "records" not in names:
        raise JsonProblem(
            "expected a JSON array of records (or JSON Lines), got a JSON object "
            "without a records array"
        )


def _looks_like_lines(window: Window, max_chars: int) -> bool:
    """Starting with ``{``: JSON Lines if the first line ends an object and more follows."""
    window.fill(max_chars + 1)
    newline = window.buf.find("\n", window.pos)
    if newline < 0:
        return False
    first = window.buf[window.pos : newline].rstrip(_WS)
    if not first.endswith("}"):
        return False
    return bool(window.buf[newline:].strip(_WS)) or not window.eof


def records(
    read: Read,
    *,
    fmt: str,
    max_depth: int,
    max_record_chars: int,
    chunk_size: int = DEFAULT_CHUNK,
    window: Window | None = None,
) -> Iterator[tuple[str, Any]]:
    """``(location, record or JsonProblem)`` for every record; fatal problems are raised.

    ``fmt``: ``lines``, ``array`` or ``auto`` (an array when the text starts with ``[``,
    ``{"records": [...]}`` when it starts with a ``{`` that is not the first of
    several lines, else JSON Lines).
    """
    window = window or Window(read, chunk_size=chunk_size)
    first = window.skip_ws()
    if not first:
        raise JsonProblem(
            "file is empty" if not window.bytes_read else "file contains only whitespace"
        )
    as_lines = fmt == "lines" or (
        fmt == "auto"
        and (first not in "[{" or (first == "{" and _looks_like_lines(window, max_record_chars)))
    )
    if as_lines:
        yield from lines(window, max_depth=max_depth, max_record_chars=max_record_chars)
        return
    if first == "[":
        yield from _array(window, max_depth=max_depth, max_chars=max_record_chars)
    elif first == "{":
        yield from _envelope(window, max_depth=max_depth, max_chars=max_record_chars)
    else:
        raise _problem(window, window.pos, "expected a JSON array of records (or JSON Lines)")
    if window.skip_ws():
        raise _problem(window, window.pos, "extra data after the JSON document")
