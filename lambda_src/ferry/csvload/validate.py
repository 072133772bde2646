"""Validate chunks of CSV records against a dataset, in bulk.

The hot path runs one compiled regular expression over a whole chunk
(:attr:`RowValidator.rows_re`): a row pattern built from the dataset's columns
in the file's header order, which checks the CSV structure and every field's
type rule at once. When the whole chunk matches, its original bytes go to
``COPY`` unchanged (no per-field Python calls, no re-serialisation). Only a
chunk with at least one non-matching row is split into records, and only the
non-matching records are parsed field by field (:meth:`RowValidator.diagnose`)
to either word the error or accept a value the fast rules leave to the exact
checker (a 10-digit int, a non-canonical key).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ferry.csvload import fields
from ferry.csvload.config import INT_RANGES, MAX_TEXT_LENGTH, Column, Dataset, header_key

# One record as PostgreSQL's CSV line reader sees it: every quote toggles.
RECORD_RE = re.compile(r'(?:[^"\n]++|"[^"]*+")*+\n')
# One or more whole records (a residue between bulk matches must be such a run).
RECORDS_RE = re.compile(r'(?:(?:[^"\n]++|"[^"]*+")*+\n)++')
# Quoted sections (every quote toggles, as in RECORD_RE): removing them leaves one
# line feed per record.
_QUOTED_RE = re.compile(r'"[^"]*+"')


class KeySet:
    """The primary keys seen so far in one file, compactly.

    Integer keys within ``window`` of the first one take one bit each in a
    bitmap that grows as needed (1 M sequential ids: 125 KiB); other keys (text,
    composite, far-away integers) are kept in a set. A batch of consecutive
    ascending integers (sequential ids, the common case) is checked and set a
    byte range at a time, without a Python step per key.

    ``max_others`` bounds the set: once more keys than that would be held in
    it, :attr:`overflowed` turns true and the caller stops tracking (memory
    stays flat; the table's primary key still catches any repeat).
    """

    def __init__(self, window: int = 1 << 27, max_others: int | None = None) -> None:
        self.window = window
        self.max_others = max_others
        self.overflowed = False
        self._bits = bytearray()
        self._base: int | None = None
        self._others: set[object] = set()

    def _slot(self, key: object) -> int | None:
        if type(key) is not int:
            return None
        if self._base is None:
            self._base = key
        index = key - self._base
        return index if 0 <= index < self.window else None

    def __contains__(self, key: object) -> bool:
        index = self._slot(key)
        if index is None:
            return key in self._others
        byte = index >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (index & 7)))

    def __len__(self) -> int:
        return sum(b.bit_count() for b in self._bits) + len(self._others)

    def _grow(self, byte: int) -> None:
        bits = self._bits
        if byte >= len(bits):
            grow = min(max(byte + 1, 2 * len(bits)), (self.window + 7) >> 3) - len(bits)
            bits.extend(bytes(grow))

    def _add_run(self, keys: Sequence[object]) -> bool | None:
        """``keys`` as one run of consecutive ascending ints in the window: bulk add.

        None when ``keys`` is not such a run (the caller adds them one by one).
        """
        first, last = keys[0], keys[-1]
        if type(first) is not int or type(last) is not int or last - first != len(keys) - 1:
            return None
        lo, hi = self._slot(first), self._slot(last)
        if lo is None or hi is None or keys != list(range(first, last + 1)):
            return None
        bits = self._bits
        self._grow(hi >> 3)
        a, b = (lo + 7) >> 3, (hi + 1) >> 3  # whole bytes [a, b) inside the run
        if a >= b:
            return None
        edges = [*range(lo, a << 3), *range(b << 3, hi + 1)]
        if bits[a:b].count(0) != b - a or any(bits[i >> 3] & (1 << (i & 7)) for i in edges):
            return False
        bits[a:b] = b"\xff" * (b - a)
        for i in edges:
            bits[i >> 3] |= 1 << (i & 7)
        return True

    def add_new(self, keys: Sequence[object]) -> bool:
        """Add ``keys`` if none was seen and none repeats; otherwise add nothing, return False."""
        if len(keys) > 32:
            run = self._add_run(keys)
            if run is not None:
                return run
        bits, others = self._bits, self._others
        set_bits: list[int] = []
        set_others: list[object] = []
        ok = True
        for key in keys:
            index = self._slot(key)
            if index is None:
                if key in others:
                    ok = False
                    break
                others.add(key)
                set_others.append(key)
                continue
            byte, mask = index >> 3, 1 << (index & 7)
            if byte >= len(bits):
                self._grow(byte)
            if bits[byte] & mask:
                ok = False
                break
            bits[byte] |= mask
            set_bits.append(index)
        if not ok:
            for index in set_bits:
                bits[index >> 3] &= ~(1 << (index & 7)) & 0xFF
            others.difference_update(set_others)
        if self.max_others is not None and len(others) > self.max_others:
            self.overflowed = True
        return ok

    def add(self, key: object) -> None:
        self.add_new([key])

    def add_each(self, keys: Sequence[object]) -> set[int]:
        """Add every key; the positions of those already seen (or repeated in ``keys``)."""
        repeats: set[int] = set()
        fresh: list[object] = []
        local: set[object] = set()
        for i, key in enumerate(keys):
            if key in local or key in self:
                repeats.add(i)
            else:
                local.add(key)
                fresh.append(key)
        self.add_new(fresh)
        return repeats


class HeaderError(ValueError):
    """The header row does not match the dataset: the whole file is rejected."""


@dataclass(frozen=True, slots=True)
class Reject:
    line: int  # physical line where the record starts (1 = header)
    column: str | None  # None: the row as a whole
    reason: str
    raw: str  # the record as it appears in the file, without its line end


@dataclass(slots=True)
class ChunkResult:
    rows: int = 0  # good records + physical lines of rejected ones (blank lines not counted)
    good: int = 0
    # what to COPY: the original bytes of the good records, as runs that are contiguous
    # in the file, each with the line it starts on (ferry.csvload.lineage numbers them)
    segments: list[tuple[bytes, int]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class _Good:
    """A chunk's good records, collected as :attr:`ChunkResult.segments`."""

    __slots__ = ("_line", "_next", "_texts", "segments")

    def __init__(self) -> None:
        self.segments: list[tuple[bytes, int]] = []
        self._texts: list[str] = []
        self._line = self._next = 0

    def append(self, text: str, line: int) -> int:
        """Good records ``text``, starting on ``line``; the line after them."""
        if line != self._next:  # a rejected record or a blank line lies between
            self._close()
            self._line = line
        self._texts.append(text)
        self._next = line + text.count("\n")
        return self._next

    def _close(self) -> None:
        if self._texts:
            self.segments.append(("".join(self._texts).encode("utf-8"), self._line))
            self._texts = []

    def done(self) -> list[tuple[bytes, int]]:
        self._close()
        return self.segments


def ignored_column(header: str) -> Column:
    """A header column the dataset ignores: read as any text, never loaded."""
    return Column(name=header, type="text", max_length=MAX_TEXT_LENGTH, ignored=True)


def map_header(dataset: Dataset, header: Sequence[str]) -> tuple[Column, ...]:
    """Columns in file order (ignored ones included, marked ``ignored``).

    A column matches its ``header`` (or its name) trimmed and case-insensitively.
    """
    expected = {c.header_key: c for c in dataset.columns}
    ignore = {header_key(h) for h in dataset.ignore_headers}
    seen: dict[str, int] = {}
    order: list[Column] = []
    unknown: list[str] = []
    duplicates: list[str] = []
    for raw in header:
        name = header_key(raw)
        if name in seen:
            duplicates.append(raw)
        elif name in expected:
            seen[name] = len(order)
            order.append(expected[name])
        elif name in ignore:
            seen[name] = len(order)
            order.append(ignored_column(raw))
        else:
            unknown.append(raw)
    missing = [
        c.name if c.header is None else f'{c.name} (header "{c.header}")'
        for c in dataset.columns
        if c.header_key not in seen
    ]
    if missing or unknown or duplicates:
        problems = []
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if unknown:
            problems.append("unexpected: " + ", ".join(f'"{u}"' for u in unknown))
        if duplicates:
            problems.append("repeated: " + ", ".join(f'"{d}"' for d in duplicates))
        ignorable = f" and may have {len(ignore)} ignored" if ignore else ""
        raise HeaderError(
            f'line 1: header has {len(header)} columns, dataset "{dataset.name}" expects '
            f"{len(dataset.columns)}{ignorable} ({'; '.join(problems)})"
        )
    return tuple(order)


def parse_header(record: bytes, delimiter: str) -> list[str]:
    """The header's names (CSV rules apply: names may be quoted)."""
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HeaderError(f"line 1: header is not valid UTF-8 ({err.reason})") from None
    values, error = tokenize(text, delimiter)
    if error:
        raise HeaderError(f"line 1: header {error}")
    return [v or "" for v, _ in values]


_TOKEN_CACHE: dict[str, re.Pattern[str]] = {}


def tokenize(body: str, delimiter: str) -> tuple[list[tuple[str | None, bool]], str | None]:
    """Split one record (without line end) into ``(value, quoted)`` fields.

    ``value`` is ``None`` for an unquoted empty field (NULL). Returns an error
    for anything outside RFC 4180 (a quote inside an unquoted field, text
    after a closing quote, a bare carriage return or line feed).
    """
    token = _TOKEN_CACHE.get(delimiter)
    if token is None:
        d = re.escape(delimiter)
        token = re.compile(rf'"((?:[^"]|"")*)"|([^"{d}\r\n]*)')
        _TOKEN_CACHE[delimiter] = token
    values: list[tuple[str | None, bool]] = []
    pos, n = 0, len(body)
    while True:
        m = token.match(body, pos)
        assert m is not None  # the unquoted alternative matches the empty string
        quoted, plain = m.group(1), m.group(2)
        if quoted is not None:
            values.append((quoted.replace('""', '"'), True))
        else:
            values.append((plain or None, False))
        pos = m.end()
        if pos == n:
            return values, None
        c = body[pos]
        if c == delimiter:
            pos += 1
            if pos == n:
                values.append((None, False))
                return values, None
            continue
        where = f"at character {pos + 1} of the record"
        if c == '"':
            if quoted is None and plain and pos < n:
                return values, f"has a quote inside an unquoted field ({where})"
            if quoted is None:
                return values, f"has an unterminated quoted field ({where})"
            return values, f"has a quote inside a quoted field that is not doubled ({where})"
        if c == "\r":
            return values, f"has a carriage return outside quotes ({where})"
        if c == "\n":
            return values, f"has a line feed outside quotes ({where})"
        return values, f"has text after a closing quote ({where})"


class RowValidator:
    """Validation of one file's rows, for the header order found in that file."""

    def __init__(self, dataset: Dataset, order: Sequence[Column], eol: str = "\n") -> None:
        self.dataset = dataset
        self.order = tuple(order)
        self.eol = eol
        d = re.escape(dataset.delimiter)
        parts = [fields.fast_pattern(c, dataset.delimiter) for c in self.order]
        guard = r"(?!\\\.\r?\n)" if len(self.order) == 1 else ""
        row = guard + d.join(parts) + re.escape(eol)
        self._row = row  # compiled on first use: a clean file needs one or two of these
        self.dirty = False  # a chunk of this file had bad rows: skip the whole-chunk try
        self.loaded = tuple(c for c in self.order if not c.ignored)
        self._project: tuple[re.Pattern[str], str] | None = None
        if len(self.loaded) != len(self.order):
            # the records as numbered by ferry.csvload.lineage: its fields (digits and
            # delimiters, after the record's own) are kept as they are
            any_field = rf'("(?:[^"]|"")*"|[^"{d}\r\n]*)'
            keep = [f"\\g<{i + 1}>" for i, c in enumerate(self.order) if not c.ignored]
            template = dataset.delimiter.replace("\\", "\\\\").join(keep)
            template += f"\\g<{len(self.order) + 1}>" + eol
            self._project = (
                re.compile(
                    d.join([any_field] * len(self.order)) + rf"({d}[^\r\n]*)" + re.escape(eol)
                ),
                template,
            )
        key_parts = [
            fields.key_pattern(c, dataset.delimiter)
            if c.name in dataset.primary_key
            else fields.fast_pattern(c, dataset.delimiter)
            for c in self.order
        ]
        key_row = guard + d.join(key_parts) + re.escape(eol)
        self._key_row = key_row
        # The key fields of records already known to be valid, by CSV structure alone
        # (far cheaper than the typed pattern): an unquoted field, or quoted sections.
        last_key = max(
            (i for i, c in enumerate(self.order) if c.name in dataset.primary_key), default=-1
        )
        any_field = f'(?:(?:"[^"]*+")++|[^"{d}\r\n]*+)'
        extract = [
            f"({any_field})" if c.name in dataset.primary_key else any_field
            for c in self.order[: last_key + 1]
        ]
        self._key_extract = d.join(extract) + r'(?:[^"\n]++|"[^"]*+")*+\n'
        # capture group index per key column, in primary-key order
        file_key_order = [c.name for c in self.order if c.name in dataset.primary_key]
        self.key_groups = tuple(file_key_order.index(k) + 1 for k in dataset.primary_key)
        self.key_positions = tuple(
            next(i for i, c in enumerate(self.order) if c.name == k) for k in dataset.primary_key
        )
        # Integer keys are held as ints (smaller than their text in the duplicate set).
        self._key_casts = tuple(
            int if dataset.column(k).type in INT_RANGES else str for k in dataset.primary_key
        )

    # --- patterns, compiled when first needed ----------------------------------

    @functools.cached_property
    def row_re(self) -> re.Pattern[str]:
        return re.compile(self._row, re.ASCII)

    @functools.cached_property
    def rows_re(self) -> re.Pattern[str]:
        """Rows with one empty group: ``split`` leaves only empty residues on a good chunk."""
        return re.compile(f"(?:{self._row})()", re.ASCII)

    @functools.cached_property
    def rows_run_re(self) -> re.Pattern[str]:
        return re.compile(f"(?:{self._row})*+", re.ASCII)

    @functools.cached_property
    def key_row_re(self) -> re.Pattern[str]:
        return re.compile(self._key_row, re.ASCII)

    @functools.cached_property
    def key_rows_re(self) -> re.Pattern[str]:
        return re.compile(f"(?:{self._key_row})", re.ASCII)

    @functools.cached_property
    def rows_capture_re(self) -> re.Pattern[str]:
        """Each row captured whole: ``split`` gives residue, row, residue, row, ..."""
        return re.compile(f"({self._row})", re.ASCII)

    @functools.cached_property
    def key_rows_capture_re(self) -> re.Pattern[str]:
        """Each row captured whole, then its key fields."""
        return re.compile(f"({self._key_row})", re.ASCII)

    @functools.cached_property
    def key_extract_re(self) -> re.Pattern[str]:
        return re.compile(self._key_extract, re.ASCII)

    # --- bulk ---------------------------------------------------------------

    def project(self, data: bytes) -> bytes:
        """What to COPY: numbered good records, without the columns the dataset ignores."""
        if self._project is None or not data:
            return data
        pattern, template = self._project
        text = data.decode("utf-8", "surrogateescape")
        return pattern.sub(template, text).encode("utf-8", "surrogateescape")

    def validate(
        self, data: bytes, first_line: int, seen_keys: KeySet | None = None
    ) -> ChunkResult:
        """Validate a chunk of whole records; ``seen_keys`` turns on duplicate-key checks."""
        text = data.decode("utf-8", "surrogateescape")
        if self.dirty:
            return self._split_rows(text, first_line, seen_keys) or self._per_record(
                text, first_line, seen_keys
            )
        if seen_keys is None or not self.dataset.primary_key:
            parts = self.rows_re.split(text)
            if not any(parts):
                rows = (len(parts) - 1) // 2
                return ChunkResult(rows=rows, good=rows, segments=[(data, first_line)])
        else:
            # split() with the key groups: residues must be empty; keys come out in bulk.
            parts = self.key_rows_re.split(text)
            width = len(self.key_groups) + 1
            if not any(parts[::width]):
                keys = self._bulk_keys(parts, width)
                if seen_keys.add_new(keys):
                    return ChunkResult(
                        rows=len(keys), good=len(keys), segments=[(data, first_line)]
                    )
        self.dirty = True  # from now on, chunks go straight to the per-row split
        return self._split_rows(text, first_line, seen_keys) or self._per_record(
            text, first_line, seen_keys
        )

    def _split_rows(
        self, text: str, first_line: int, seen_keys: KeySet | None
    ) -> ChunkResult | None:
        """A chunk with bad rows, in one bulk pass: good rows whole, the rest one by one.

        ``split`` with each row captured gives the good rows (and their keys) and the
        text between them. That text must be whole records as PostgreSQL cuts them
        (:data:`RECORDS_RE`): then every bulk match started on a record boundary, and
        only those records are checked one by one, in file order with the good rows.
        Otherwise a match started inside a bad record: None (the caller takes
        :meth:`_per_record`).
        """
        tracking = seen_keys is not None and bool(self.dataset.primary_key)
        pattern = self.key_rows_capture_re if tracking else self.rows_capture_re
        parts = pattern.split(text)
        width = 2 + len(self.key_groups) if tracking else 2
        residues = parts[::width]
        whole = RECORDS_RE.fullmatch
        if not all(whole(r) for r in residues if r):
            return None
        result = ChunkResult()
        good = _Good()
        line = first_line
        start = 0  # first row (index into the rows) not yet taken
        for j, residue in enumerate(residues):
            if not residue:
                continue
            line = self._take_rows(parts, width, start, j, line, seen_keys, good, result)
            start = j
            for rec in RECORD_RE.findall(residue):
                if self._record(rec, line, seen_keys, result):
                    good.append(rec, line)
                line += rec.count("\n")
        self._take_rows(parts, width, start, len(residues) - 1, line, seen_keys, good, result)
        result.segments = good.done()
        return result

    def _take_rows(  # noqa: PLR0917 - the state of one split, passed along
        self,
        parts: list[str],
        width: int,
        start: int,
        stop: int,
        line: int,
        seen_keys: KeySet | None,
        good: _Good,
        result: ChunkResult,
    ) -> int:
        """Rows ``start:stop`` of a split (all matched the row pattern); the next line."""
        if stop <= start:
            return line
        section = parts[1 + start * width : 1 + stop * width]
        rows = section[::width]
        if width > 2:  # keys captured: repeats are rejected, the later row
            assert seen_keys is not None
            if len(self.key_groups) == 1:
                keys = list(map(self._key_casts[0], section[1::width]))
            else:
                columns = [
                    map(self._key_casts[i], section[g::width])
                    for i, g in enumerate(self.key_groups)
                ]
                keys = list(zip(*columns, strict=True))
            if not seen_keys.add_new(keys):
                return self._drop_repeats(
                    "".join(rows), keys, line=line, seen_keys=seen_keys, good=good, result=result
                )
        block = "".join(rows)
        result.rows += len(rows)
        result.good += len(rows)
        return good.append(block, line)

    def _bulk_keys(self, parts: list[str], width: int) -> list[object]:
        if width == 2:
            return list(map(self._key_casts[0], parts[1::2]))
        columns = [map(self._key_casts[i], parts[g::width]) for i, g in enumerate(self.key_groups)]
        return list(zip(*columns, strict=True))

    def canonical_key(self, values: Sequence[str]) -> object:
        """The key as held in the duplicate set (ints for integer columns)."""
        if len(values) == 1:
            return self._key_casts[0](values[0])
        return tuple(cast(v) for cast, v in zip(self._key_casts, values, strict=True))

    def _valid_block_keys(self, block: str) -> list[object] | None:
        """The keys of ``block``, records that all passed the row pattern (None: unquoted only).

        Only the CSV structure is parsed; a quoted or non-canonical key (``007``,
        ``+5``) is left to the caller's record-by-record path.
        """
        parts = self.key_extract_re.split(block)
        width = len(self.key_groups) + 1
        if any(parts[::width]):  # pragma: no cover - the block matched the row pattern
            return None
        if any('"' in "".join(parts[g::width]) for g in range(1, width)):
            return None
        return self._bulk_keys(parts, width)

    def _per_record(self, text: str, first_line: int, seen_keys: KeySet | None) -> ChunkResult:
        """A chunk with bad rows: runs of good rows in bulk, only the others one by one.

        ``rows_run_re.match`` consumes the longest run of valid rows from a record
        boundary and stops at the first record it cannot accept; that record is cut
        out exactly as PostgreSQL would (:data:`RECORD_RE`) and diagnosed, and the
        bulk match resumes after it.
        """
        self.dirty = True
        result = ChunkResult()
        good = _Good()
        line = first_line
        pos, end = 0, len(text)
        run = self.rows_run_re.match
        record = RECORD_RE.match
        tracking = seen_keys is not None and bool(self.dataset.primary_key)
        while pos < end:
            stop = run(text, pos).end()  # type: ignore[union-attr]  # (?:...)* always matches
            if stop > pos:
                segment = text[pos:stop]
                pos = stop
                if tracking:
                    assert seen_keys is not None
                    keys = self._valid_block_keys(segment)
                    if keys is None:  # a quoted or non-canonical key: record by record
                        for rec in RECORD_RE.findall(segment):
                            if self._record(rec, line, seen_keys, result):
                                good.append(rec, line)
                            line += rec.count("\n")
                        continue
                    if not seen_keys.add_new(keys):  # a key repeats: reject the later rows
                        line = self._drop_repeats(
                            segment, keys, line=line, seen_keys=seen_keys, good=good, result=result
                        )
                        continue
                    count = len(keys)
                else:
                    count = _QUOTED_RE.sub("", segment).count("\n")
                result.rows += count
                result.good += count
                line = good.append(segment, line)
                continue
            m = record(text, pos)
            rec = m.group() if m else text[pos:]
            if self._record(rec, line, seen_keys, result):
                good.append(rec, line)
            line += rec.count("\n")
            pos += len(rec)
        result.segments = good.done()
        return result

    def _record(self, rec: str, line: int, seen_keys: KeySet | None, result: ChunkResult) -> bool:
        """One record: True if it is good (counted), else its rejects are added."""
        check_keys = seen_keys is not None and bool(self.dataset.primary_key)
        m = (self.key_row_re if check_keys else self.row_re).fullmatch(rec)
        key: object = None
        if m is not None:
            if check_keys:
                key = self.canonical_key([m.group(g) for g in self.key_groups])
        else:
            errors, key = self.diagnose(rec)
            if errors is None:  # a blank line: skipped, not counted
                return False
            if errors:
                # A malformed record that spans several physical lines (an unbalanced
                # quote joined them) counts each line it swallowed toward the reject
                # threshold; a well-formed multi-line record with a bad value is one row.
                structural = any(col is None for col, _ in errors)
                lines = max(1, rec.count("\n")) if structural else 1
                result.rows += lines
                raw = _printable(rec[: -len(self.eol)] if rec.endswith(self.eol) else rec)
                if lines > 1:
                    span = f" (the record spans lines {line}-{line + lines - 1})"
                    errors = [(col, why + span) for col, why in errors]
                result.rejects.extend(Reject(line, col, why, raw) for col, why in errors)
                return False
        result.rows += 1
        if check_keys:
            assert seen_keys is not None
            if key in seen_keys:
                raw = _printable(rec.rstrip("\r\n"))
                result.rejects.append(Reject(line, None, self._duplicate(key), raw))
                return False
            seen_keys.add(key)
        result.good += 1
        return True

    def _drop_repeats(
        self,
        segment: str,
        keys: list[object],
        *,
        line: int,
        seen_keys: KeySet,
        good: _Good,
        result: ChunkResult,
    ) -> int:
        """Valid records with known keys, some repeated: the later ones rejected. Next line."""
        repeats = seen_keys.add_each(keys)
        records = RECORD_RE.findall(segment)
        result.rows += len(records)
        result.good += len(records) - len(repeats)
        for i, rec in enumerate(records):
            if i in repeats:
                raw = _printable(rec.rstrip("\r\n"))
                result.rejects.append(Reject(line, None, self._duplicate(keys[i]), raw))
            else:
                good.append(rec, line)
            line += rec.count("\n")
        return line

    def _duplicate(self, key: object) -> str:
        values = key if isinstance(key, tuple) else (key,)
        return (
            f"duplicate primary key ({', '.join(self.dataset.primary_key)})="
            f"({', '.join(str(v) for v in values)}): an earlier row has the same key"
        )

    def broken_tail(self, data: bytes, line: int) -> Reject:
        raw = _printable(data.decode("utf-8", "surrogateescape"))
        lines = tail_lines(data)
        span = f" (it swallowed lines {line}-{line + lines - 1})" if lines > 1 else ""
        return Reject(line, None, "unterminated quoted field at end of file" + span, raw)

    # --- one record -----------------------------------------------------------

    def diagnose(self, rec: str) -> tuple[list[tuple[str | None, str]] | None, object]:
        """Exact check of one record: ``(errors, key)``; errors ``None`` for a blank line."""
        eol = self.eol
        if rec.endswith(eol):
            body = rec[: -len(eol)]
        elif eol == "\r\n" and rec.endswith("\n"):
            return [(None, "line ends with LF, but the header line ends with CRLF")], None
        else:  # pragma: no cover - the reader always ends records with a line feed
            body = rec
        if body == "":
            return None, None
        if len(self.order) == 1 and body == "\\.":
            return [(None, "a lone \\. would end the COPY data")], None
        values, error = tokenize(body, self.dataset.delimiter)
        if error:
            return [(None, f"record {error}")], None
        if len(values) != len(self.order):
            return [(None, f"row has {len(values)} fields, expected {len(self.order)}")], None
        errors: list[tuple[str | None, str]] = []
        canonical: list[str | None] = []
        for col, (value, quoted) in zip(self.order, values, strict=True):
            error_text, canon = fields.check(col, value if value is not None or not quoted else "")
            if error_text:
                errors.append((col.name, error_text))
            canonical.append(canon)
        key: object = None
        if self.dataset.primary_key and not errors:
            key = self.canonical_key([canonical[i] or "" for i in self.key_positions])
        return errors, key


def tail_lines(data: bytes) -> int:
    """Physical lines in a broken tail (its last line feed ends the last line)."""
    return data.rstrip(b"\r\n").count(b"\n") + 1


def _printable(raw: str) -> str:
    """The record's text, with bytes that are not UTF-8 shown as \\xNN."""
    if not any("\udc80" <= ch <= "\udcff" for ch in raw):
        return raw
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
