"""Cut a byte stream into chunks of whole CSV records, with bounded memory.

Records are split exactly as PostgreSQL's ``COPY ... (FORMAT csv)`` splits
lines: every quote character toggles "inside quotes", and a line feed outside
quotes ends a record. So a chunk always starts and ends on a record boundary
PostgreSQL agrees with, even for malformed quoting, and the chunk's original
bytes can be passed through to ``COPY`` unchanged.

Memory: the reader holds at most ``chunk_size + max_record_bytes`` bytes. A
record that does not end within ``max_record_bytes`` (typically an
unterminated quote) stops the file with :class:`RecordTooLong`.

The reads, and the first chunk, start small (``first_chunk_size``): the first
records reach the database sooner, and PostgreSQL, which sets the pace of a
load, starts working while the next chunks are read and validated
(bench/README.md, "Lineage on the server, and start-up").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
DEFAULT_CHUNK_SIZE = 1 << 20
FIRST_CHUNK_SIZE = 64 << 10


class RecordTooLong(ValueError):
    """No record boundary within the limit: an unterminated quote or a huge record."""

    def __init__(self, line: int, limit: int) -> None:
        super().__init__(
            f"line {line}: record does not end within {limit} bytes "
            "(an unterminated quoted field, or a record longer than max_record_bytes)"
        )
        self.line = line


@dataclass(slots=True)
class Chunk:
    data: bytes  # whole records; the last one ends with a line feed
    first_line: int  # physical line number of the first record (1-based)
    broken_tail: bytes = b""  # at end of file: a record whose quote never closes


def last_boundary(buf: bytes, start: int = 0) -> int:
    """Offset just past the last line feed outside quotes (``start`` if none).

    ``buf[start:]`` must begin at a record boundary (outside quotes).
    """
    pos = buf.rfind(b"\n", start)
    if pos < 0:
        return start
    parity = buf.count(b'"', start, pos) & 1
    while parity:
        prev = buf.rfind(b"\n", start, pos)
        if prev < 0:
            return start
        parity ^= buf.count(b'"', prev, pos) & 1
        pos = prev
    return pos + 1


def first_boundary(buf: bytes) -> int:
    """Offset just past the first line feed outside quotes (0 if none)."""
    pos = -1
    parity = 0
    while True:
        nxt = buf.find(b"\n", pos + 1)
        if nxt < 0:
            return 0
        parity ^= buf.count(b'"', pos + 1, nxt) & 1
        if not parity:
            return nxt + 1
        pos = nxt


class RecordReader:
    """Reads ``read(n)`` (a botocore StreamingBody, a file) into record-aligned chunks."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_record_bytes: int = 1 << 20,
        first_chunk_size: int = FIRST_CHUNK_SIZE,
    ) -> None:
        self._read = read
        self.chunk_size = chunk_size
        self._want = min(first_chunk_size, chunk_size)  # chunk_size after the first chunk
        self.max_record_bytes = max_record_bytes
        self.max_buffer = 0  # the largest buffer held, for tests of the memory bound
        self._buf = b""
        self._eof = False
        self._line = 1

    def _fill(self) -> bool:
        """Read one more piece; False at end of stream."""
        if self._eof:
            return False
        data = self._read(self._want)
        if not data:
            self._eof = True
            return False
        self._buf = self._buf + data if self._buf else data
        self.max_buffer = max(self.max_buffer, len(self._buf))
        return True

    def header(self) -> tuple[bytes, bytes]:
        """The first record (without its line end) and the line end (``\\n`` or ``\\r\\n``)."""
        while True:
            end = first_boundary(self._buf)
            if end:
                break
            if len(self._buf) > self.max_record_bytes:
                raise RecordTooLong(1, self.max_record_bytes)
            if not self._fill():
                end = len(self._buf)
                break
        record, self._buf = self._buf[:end], self._buf[end:]
        if record.startswith(BOM):
            record = record[len(BOM) :]
        self._line += record.count(b"\n")
        if record.endswith(b"\r\n"):
            return record[:-2], b"\r\n"
        if record.endswith(b"\n"):
            return record[:-1], b"\n"
        return record, b"\n"

    def chunks(self, eol: bytes = b"\n") -> Iterator[Chunk]:
        """Whole-record chunks of about ``chunk_size`` bytes, after :meth:`header`."""
        while True:
            if len(self._buf) < self._want:
                if self._fill():
                    continue
                break
            cut = last_boundary(self._buf)
            if not cut:
                if len(self._buf) > self.chunk_size + self.max_record_bytes:
                    raise RecordTooLong(self._line, self.max_record_bytes)
                if self._fill():
                    continue
                break
            yield self._emit(cut)
        # end of stream
        if not self._buf:
            return
        cut = last_boundary(self._buf)
        tail = self._buf[cut:]
        data = self._buf[:cut]
        broken = b""
        if tail:
            if tail.count(b'"') & 1:
                broken = tail
            else:
                data += tail + eol
        self._buf = b""
        chunk = Chunk(data, self._line, broken)
        self._line += data.count(b"\n")
        yield chunk

    def _emit(self, cut: int) -> Chunk:
        self._want = self.chunk_size
        data, self._buf = self._buf[:cut], self._buf[cut:]
        chunk = Chunk(data, self._line)
        self._line += data.count(b"\n")
        return chunk
