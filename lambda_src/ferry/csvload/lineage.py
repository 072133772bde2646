"""Row lineage for COPY: each good record gets its source line number as one more field.

The load's id needs nothing per row (the ``_ferry_load_id`` column's default
reads the transaction's ``ferry.load_id`` setting). The line number does: it
is appended to every record COPY receives (``...,<line>`` before the line
end). In the common case (a chunk whose records are all good, one physical
line each) the numbers are consecutive and the chunk is split on line feeds;
only chunks with rejected rows or quoted line breaks are walked record by
record (the validator already walked those one by one).
"""

from __future__ import annotations

from collections.abc import Sequence

from ferry.csvload.validate import RECORD_RE


def good_lines(data: bytes, good: bytes, first_line: int, rows: int) -> Sequence[int]:
    """The source line of each record of ``good`` (the chunk's good records, in order).

    ``data`` is the whole chunk starting at ``first_line``. When ``good`` is the
    chunk itself and every record is one line, that is a range; otherwise the
    chunk's records are matched in order against ``good`` (a rejected record is
    never the next good one: among identical records the first is the one kept).
    """
    if good is data and data.count(b"\n") == rows:
        return range(first_line, first_line + rows)
    text = data.decode("utf-8", "surrogateescape")
    kept = good.decode("utf-8", "surrogateescape")
    lines: list[int] = []
    line, pos = first_line, 0
    for record in RECORD_RE.findall(text):
        if kept.startswith(record, pos):
            lines.append(line)
            pos += len(record)
        line += record.count("\n")
    return lines


def with_lines(payload: bytes, lines: Sequence[int], delimiter: str, eol: bytes) -> bytes:
    """``payload``'s records, each with ``<delimiter><line>`` added before its line end."""
    if not payload:
        return payload
    sep = delimiter.encode()
    cut = -1 if eol == b"\r\n" else None
    if payload.count(b"\n") == len(lines):
        records = payload.split(b"\n")[:-1]
    else:  # quoted line breaks: cut at record boundaries
        text = payload.decode("utf-8", "surrogateescape")
        records = [r.encode("utf-8", "surrogateescape")[:-1] for r in RECORD_RE.findall(text)]
    if len(records) != len(lines):
        raise ValueError(f"{len(records)} records but {len(lines)} line numbers")
    return b"".join(
        b"%b%b%d%b" % (r[:cut], sep, n, eol) for r, n in zip(records, lines, strict=True)
    )
