"""The rejected rows of one file, as a CSV (``line,column,reason,raw``) on disk, not in memory.

Operators open this file in spreadsheets, and its cells hold text from the
uploaded file: every text cell is neutralised against formula injection as
OWASP's CSV injection guidance says (a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return, or their full-width forms, gets a leading
``'``), and every cell is quoted.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from typing import IO, Any

from ferry.csvload.validate import Reject

HEADER = ("line", "column", "reason", "raw")
_FORMULA_START = tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates (OWASP: prefix with ``'``)."""
    if cell.lstrip(" ").startswith(_FORMULA_START):
        return "'" + cell
    return cell


class RejectLog:
    """Spools reject lines to a temporary file (memory up to ``spool_bytes``, then /tmp)."""

    def __init__(self, *, max_details: int = 100, spool_bytes: int = 4 << 20) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
        self._writer.writerow(HEADER)
        self.max_details = max_details
        self.details: list[dict[str, Any]] = []
        self.lines = 0  # reject lines (a row with three bad fields has three)
        self.rows = 0  # distinct rejected rows

    def add(self, rejects: Iterable[Reject]) -> None:
        last_line = None
        for r in rejects:
            if r.line != last_line:
                self.rows += 1
                last_line = r.line
            self.lines += 1
            cells = (r.column or "", r.reason, r.raw)
            self._writer.writerow((r.line, *(neutralise(c) for c in cells)))
            if len(self.details) < self.max_details:
                detail: dict[str, Any] = {"line": r.line, "reason": r.reason}
                if r.column:
                    detail["column"] = r.column
                self.details.append(detail)

    def messages(self, limit: int | None = None) -> list[str]:
        """Human-readable lines: ``line 5812, column "ts": "..." is not a valid timestamp``."""
        out = []
        for d in self.details[:limit]:
            column = f', column "{d["column"]}"' if "column" in d else ""
            out.append(f"line {d['line']}{column}: {d['reason']}")
        return out

    def open(self) -> IO[bytes]:
        """The CSV, rewound, for reading (e.g. to upload)."""
        self._text.flush()
        self._file.seek(0)
        return self._file

    def getvalue(self) -> bytes:
        data = self.open().read()
        self._file.seek(0, io.SEEK_END)
        return data

    def close(self) -> None:
        self._text.detach()
        self._file.close()

    def __enter__(self) -> RejectLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
