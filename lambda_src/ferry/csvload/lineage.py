"""Row lineage for COPY: each good record gets the load's id and its source line number.

Both are appended to every record COPY receives (``...,<load id>,<line>``
before the line end). The load's id is the same in every record, yet it is
sent rather than left to the ``_ferry_load_id`` column's default (which reads
the transaction's ``ferry.load_id`` setting): PostgreSQL evaluates a default
once per row, and that costs it more than parsing one more field
(bench/README.md, "Lineage on the server, and start-up"). The validator hands
over the good records as *segments*: runs of records that are contiguous in
the file, each with the line it starts on (a clean chunk is one segment; a
rejected record or a blank line starts a new one). Inside a segment a record's
line is its first physical line, so only the quoted line breaks (which do not
end a record) need finding.

No Python runs per record: every record end becomes ``<delimiter>%d<eol>``
(with the load id before the number) and one ``bytes % tuple`` call writes all
the numbers. The numbers are consecutive except after a record with quoted
line breaks; those are found by one regular expression that skips everything
else (:data:`_BROKEN_RE`), so the Python work is per multi-line record, not
per record.
"""

from __future__ import annotations

import re

# From a record boundary (an even number of quotes behind): quoted sections
# without a line feed and the text between them, skipped whole (possessive),
# then the inside of the next quoted section that holds one (group 1); or the
# rest of the text. Successive matches cover the text end to end.
_BROKEN_RE = re.compile(rb'(?:[^"]++|"[^"\n]*+")*+(?:"([^"]*+)"|\Z)')


def number(
    segment: bytes,
    first_line: int,
    delimiter: str,
    eol: bytes,
    records: int | None = None,
    *,
    load_id: int | None = None,
) -> bytes:
    """``segment`` (whole records from ``first_line`` on) with ``<delimiter><line>`` per record.

    With ``load_id``, ``<delimiter><load_id><delimiter><line>``. ``records``,
    when the caller knows it, saves the search for quoted line breaks if every
    record is one line. Raises ValueError when ``segment`` is not whole records
    ending in ``eol``.
    """
    if not segment:
        return segment
    if not segment.endswith(eol):
        raise ValueError("a segment must end with a whole record")
    text = segment.replace(b"%", b"%%") if b"%" in segment else segment
    sep = delimiter.encode().replace(b"%", b"%%")
    mark = sep + (b"%d" % load_id + sep if load_id is not None else b"") + b"%d" + eol
    marked = text.replace(eol, mark)  # every line end, for now: those inside quotes go back
    if b'"' not in text or (records is not None and records == text.count(b"\n")):
        # one record per line: consecutive numbers
        ends = text.count(eol)
        if eol != b"\n" and ends != text.count(b"\n"):
            raise ValueError("records and line numbers disagree: a bare line feed ends no record")
        return _fill(marked, range(first_line, first_line + ends))
    # Line feeds are counted by ordinal n (the n-th ends physical line first_line + n).
    # A record's number is its first line; a record with quoted line breaks takes
    # the ordinal of its first line and skips those inside its quotes.
    pieces: list[bytes] = []
    lines: list[int] = []
    pos = done = 0  # marked text before pos is in pieces; line feeds before it: done
    start = -1  # first line of a multi-line record not yet ended
    count, match, scan = marked.count, _BROKEN_RE.match, 0
    while True:
        m = match(marked, scan)  # anchored: each match starts where the last ended
        if m is None:
            raise ValueError("a segment must be whole records (a quoted section is not closed)")
        quote, close = m.span(1)
        if quote < 0:  # the rest of the text: no more quoted line breaks
            break
        at = done + count(b"\n", pos, quote)  # the line this quoted section opens on
        if start >= 0 and at > done:  # the multi-line record ended at the next line feed
            lines.append(first_line + start)
            done += 1
            start = -1
        lines.extend(range(first_line + done, first_line + at))  # one-line records
        if start < 0:
            start = at
        inside = marked[quote:close]
        pieces += (marked[pos:quote], inside.replace(mark, eol))
        done = at + inside.count(b"\n")
        pos, scan = close, m.end()
    rest = count(b"\n", pos)
    if start >= 0:
        lines.append(first_line + start)
        done += 1
        rest -= 1
    lines.extend(range(first_line + done, first_line + done + rest))
    pieces.append(marked[pos:])
    return _fill(b"".join(pieces), lines)


def _fill(template: bytes, lines: range | list[int]) -> bytes:
    try:
        return template % tuple(lines)
    except TypeError as err:  # more or fewer record ends than numbers
        raise ValueError(f"records and line numbers disagree: {err}") from None
