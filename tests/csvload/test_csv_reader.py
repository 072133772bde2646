"""Record-aligned chunking: boundaries PostgreSQL agrees with, and a bounded buffer."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from ferry.csvload.reader import RecordReader, RecordTooLong, first_boundary, last_boundary


def test_boundaries_respect_quotes() -> None:
    buf = b'a,"x\ny"\nb,"open\n'
    assert first_boundary(buf) == 8
    assert last_boundary(buf) == 8  # the last line feed is inside an open quote
    assert last_boundary(b'no line end "') == 0
    assert last_boundary(b'a\n"q""\n"\n') == len(b'a\n"q""\n"\n')


def test_bom_and_header_line_end() -> None:
    reader = RecordReader(io.BytesIO(b'\xef\xbb\xbf"a","b"\r\n1,2\r\n').read)
    assert reader.header() == (b'"a","b"', b"\r\n")
    chunks = list(reader.chunks(b"\r\n"))
    assert [c.data for c in chunks] == [b"1,2\r\n"]
    assert chunks[0].first_line == 2


class Generated:
    """A many-megabyte stream produced on the fly (never held in memory at once)."""

    def __init__(self, rows: int) -> None:
        self._rows: Iterator[bytes] = (
            b'%d,"text with, a comma\nand a line break",2026-01-01\n' % i for i in range(rows)
        )
        self._pending = b"id,note,day\n"
        self.served = 0
        self.largest_read = 0

    def read(self, n: int) -> bytes:
        self.largest_read = max(self.largest_read, n)
        while len(self._pending) < n:
            row = next(self._rows, None)
            if row is None:
                break
            self._pending += row
        out, self._pending = self._pending[:n], self._pending[n:]
        self.served += len(out)
        return out


def test_memory_is_bounded_by_chunk_and_record_size() -> None:
    stream = Generated(300_000)  # ~15 MB
    reader = RecordReader(stream.read, chunk_size=64 * 1024, max_record_bytes=4096)
    reader.header()
    lines = 1
    records = 0
    for chunk in reader.chunks():
        assert chunk.first_line == lines + 1
        assert chunk.data.endswith(b"\n")
        assert len(chunk.data) <= 2 * 64 * 1024
        lines += chunk.data.count(b"\n")
        records += chunk.data.count(b"2026-01-01\n")
    assert stream.served > 14_000_000
    assert records == 300_000
    assert lines == 1 + 2 * 300_000
    assert stream.largest_read == 64 * 1024
    assert reader.max_buffer <= 2 * 64 * 1024


def test_unterminated_quote_stops_at_the_record_limit() -> None:
    data = b'a,b\n1,2\n3,"' + b"x\n" * 100_000
    reader = RecordReader(io.BytesIO(data).read, chunk_size=1024, max_record_bytes=4096)
    reader.header()
    with pytest.raises(RecordTooLong) as err:
        list(reader.chunks())
    assert "line 3: record does not end within 4096 bytes" in str(err.value)
    assert reader.max_buffer <= 1024 + 4096 + 1024


def test_the_first_chunk_is_small_and_the_rest_are_chunk_size() -> None:
    """The first records reach the database early; after them, reads are chunk_size."""
    stream = Generated(100_000)  # ~5 MB
    reader = RecordReader(stream.read, chunk_size=1 << 20, first_chunk_size=16 << 10)
    reader.header()
    sizes = [len(chunk.data) for chunk in reader.chunks()]
    assert sizes[0] <= 2 * 16 << 10
    assert all(size > (1 << 20) - 100 for size in sizes[1:-1])  # less a partial record
    assert len(sizes) < 10
    assert stream.largest_read == 1 << 20
    assert sum(sizes) == stream.served - len(b"id,note,day\n")
