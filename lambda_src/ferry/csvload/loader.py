"""Load one CSV object version into PostgreSQL, exactly once.

One file version is loaded in one transaction, together with its row in
``ferry.loads`` (unique on bucket, key, version):

1. ``pg_advisory_xact_lock`` on a hash of the object version serialises
   concurrent loads of the same version (a duplicate event delivered twice at
   once);
2. if ``ferry.loads`` already has the version, nothing is done (redelivery);
3. the object is streamed, validated chunk by chunk and the good rows' original
   bytes are sent with ``COPY ... FROM STDIN (FORMAT csv)``;
4. the rejected rows are handed to ``on_rejects`` (written to the failed bucket)
   *before* commit, so a failure there retries the whole load;
5. the load record is inserted and the transaction commits. A concurrent
   duplicate that slipped past the lock hits the unique constraint and is
   reported as already loaded.

Lineage: the load takes its id (``ferry.loads.load_id``) from the sequence
before ``COPY`` (and sets it as the transaction's ``ferry.load_id``, which
the tables' ``_ferry_load_id`` default reads for other writers); every record
COPY receives carries that id for ``_ferry_load_id`` and its source line for
``_ferry_line`` (:mod:`ferry.csvload.lineage`).

A crash, a killed connection or a stream that breaks half-way rolls the
transaction back: nothing partial is ever visible, and :class:`Transient` is
raised so the message is retried.

Duplicate primary keys inside a file are rejected (the later rows) in the same
single pass, in bounded memory: integer keys take a bit each (runs of
sequential ids a byte range at a time), other keys a set of at most
:data:`MAX_TRACKED_KEYS`. A key already in the table from an earlier file makes
``COPY`` report a unique violation, and the file is rejected with PostgreSQL's
detail. Only when a file has more non-integer keys than that bound does the
first pass stop tracking and leave repeats to the table's primary key; if
``COPY`` then reports a unique violation, the file is read again with
unbounded key tracking (the second pass, ``LoadResult.passes == 2``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ferry.csvload.config import Dataset
from ferry.csvload.lineage import number
from ferry.csvload.reader import DEFAULT_CHUNK_SIZE, RecordReader, RecordTooLong
from ferry.csvload.rejects import RejectLog
from ferry.csvload.validate import (
    HeaderError,
    KeySet,
    RowValidator,
    map_header,
    parse_header,
    tail_lines,
)
from ferry.model import Transient

LOADS_TABLE = "ferry.loads"
# ferry.csvload.migrate's names (migrate imports psycopg lazily)
LOAD_ID_COLUMN = "_ferry_load_id"
LINE_COLUMN = "_ferry_line"
#: Keys the first pass holds outside the integer bitmap before it stops tracking.
MAX_TRACKED_KEYS = 1 << 16
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"}
_TRANSIENT_CLASSES = ("08", "53", "58")

Read = Callable[[int], bytes]


class LoadError(RuntimeError):
    """PostgreSQL refused data that passed validation, or the database is not set up: a bug."""


@dataclass(frozen=True, slots=True)
class Source:
    """The object version being loaded (what ``ferry.loads`` records)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @property
    def version_key(self) -> str:
        """S3 version id, or ``etag:<etag>`` for an unversioned bucket."""
        if self.version_id and self.version_id != "null":
            return self.version_id
        return f"etag:{(self.etag or '').strip(chr(34))}"

    @property
    def lock_id(self) -> int:
        digest = hashlib.blake2b(
            f"{self.bucket}\0{self.key}\0{self.version_key}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big", signed=True)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key} ({self.version_key})"


@dataclass(slots=True)
class LoadResult:
    status: Literal["loaded", "already_loaded", "rejected"]
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_total: int = 0
    reason: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)
    passes: int = 1
    load_id: int | None = None  # ferry.loads.load_id: every row of the load carries it

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rows_total": self.rows_total,
        }


class _Rejected(Exception):
    """Raised inside the transaction to roll the load back and reject the file."""

    def __init__(self, result: LoadResult) -> None:
        super().__init__(result.reason)
        self.result = result


class _DuplicateKeys(Exception):
    """COPY hit the table's primary key: read the file again with key tracking."""


def classify(err: BaseException) -> Transient | None:
    """A Transient for failures worth retrying (connection, shutdown, contention), else None."""
    import psycopg

    if not isinstance(err, psycopg.Error):
        return None
    state = err.sqlstate or ""
    if (
        state in _TRANSIENT_SQLSTATES
        or state.startswith(_TRANSIENT_CLASSES)
        or (not state and isinstance(err, psycopg.OperationalError | psycopg.InterfaceError))
    ):
        return Transient(f"PostgreSQL: {type(err).__name__}: {str(err).strip()}")
    return None


class Loader:
    """Loads files of one dataset. Cheap to build; keep one per dataset."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_details: int = 100,
        max_tracked_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self.dataset = dataset
        self.chunk_size = chunk_size
        self.max_details = max_details
        self.max_tracked_keys = max_tracked_keys
        self.last_max_buffer = 0  # largest read buffer of the last load (memory bound checks)

    # --- public ---------------------------------------------------------------

    def load(
        self,
        conn: Any,
        source: Source,
        open_stream: Callable[[], Read],
        on_rejects: Callable[[RejectLog], None] | None = None,
    ) -> LoadResult:
        """Load ``source`` (``open_stream()`` gives a fresh ``read(n)`` each call).

        Returns the result; raises :class:`Transient` for retryable failures and
        :class:`LoadError` for bugs.
        """
        import psycopg

        try:
            try:
                first = KeySet(max_others=self.max_tracked_keys)
                return self._attempt(conn, source, open_stream, on_rejects, first)
            except _DuplicateKeys:
                result = self._attempt(conn, source, open_stream, on_rejects, KeySet())
                result.passes = 2
                return result
        except psycopg.Error as err:
            transient = classify(err)
            if transient is not None:
                raise transient from err
            raise LoadError(f"loading {source} into {self.dataset.qualified_table}: {err}") from err

    # --- one pass -------------------------------------------------------------

    def _attempt(
        self,
        conn: Any,
        source: Source,
        open_stream: Callable[[], Read],
        on_rejects: Callable[[RejectLog], None] | None,
        keys: KeySet,
    ) -> LoadResult:
        """One pass; ``keys`` collects the file's primary keys (bounded on the first pass)."""
        from psycopg import errors

        ds = self.dataset
        try:
            with conn.transaction():
                cur = conn.cursor()
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (source.lock_id,))
                done = cur.execute(
                    f"SELECT rows_loaded, rows_rejected, load_id FROM {LOADS_TABLE}"
                    " WHERE bucket = %s AND key = %s AND version_id = %s",
                    (source.bucket, source.key, source.version_key),
                ).fetchone()
                if done is not None:
                    return LoadResult(
                        "already_loaded",
                        rows_loaded=done[0],
                        rows_rejected=done[1],
                        load_id=done[2],
                    )
                load_id = cur.execute(
                    "SELECT nextval('ferry.load_ids'),"
                    " set_config('ferry.load_id', currval('ferry.load_ids')::text, true)"
                ).fetchone()[0]
                with RejectLog(max_details=self.max_details) as log:
                    result = self._copy(cur, source, open_stream(), log, keys, load_id=load_id)
                    if log.lines and on_rejects is not None:
                        on_rejects(log)
                    if result.status == "rejected":
                        raise _Rejected(result)
                try:
                    with conn.transaction():  # a savepoint: the duplicate case stays readable
                        cur.execute(
                            f"INSERT INTO {LOADS_TABLE} (bucket, key, version_id, etag, dataset,"
                            " target_table, rows_loaded, rows_rejected, load_id)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            (
                                source.bucket,
                                source.key,
                                source.version_key,
                                source.etag,
                                ds.name,
                                ds.qualified_table,
                                result.rows_loaded,
                                result.rows_rejected,
                                load_id,
                            ),
                        )
                except errors.UniqueViolation:
                    raise _AlreadyLoaded() from None
                result.load_id = load_id
                return result
        except _Rejected as rejected:
            return rejected.result
        except _AlreadyLoaded:
            return LoadResult("already_loaded")
        except errors.UniqueViolation as err:
            if err.diag.table_name == ds.table and err.diag.schema_name == ds.schema:
                if keys.overflowed:  # repeats inside the file were not all tracked
                    raise _DuplicateKeys() from err
                detail = (err.diag.message_detail or str(err)).strip()
                return LoadResult(
                    "rejected",
                    reason=f"a row's primary key is already in {ds.qualified_table}: {detail}",
                    details=[{"reason": detail}],
                )
            raise
        except (errors.UndefinedTable, errors.UndefinedColumn) as err:
            raise LoadError(
                f"{err.diag.message_primary}: run the migration (python -m ferry.csvload.migrate)"
            ) from err

    def _copy(
        self,
        cur: Any,
        source: Source,
        read: Read,
        log: RejectLog,
        keys: KeySet,
        *,
        load_id: int,
    ) -> LoadResult:
        from psycopg import sql

        ds = self.dataset

        def guarded_read(n: int) -> bytes:
            try:
                return read(n)
            except Transient:
                raise
            except Exception as err:
                raise Transient(f"reading {source}: {type(err).__name__}: {err}") from err

        reader = RecordReader(
            guarded_read, chunk_size=self.chunk_size, max_record_bytes=ds.max_record_bytes
        )
        try:
            header, eol = reader.header()
            if not header.strip():
                empty = _only_whitespace(reader, eol)
                raise HeaderError(
                    "file is empty" + (" (only whitespace)" if reader.max_buffer else "")
                    if empty
                    else "line 1: the header line is empty"
                )
            order = map_header(ds, parse_header(header, ds.delimiter))
        except (HeaderError, RecordTooLong) as err:
            return LoadResult(
                "rejected", reason=str(err), details=[{"line": 1, "reason": str(err)}]
            )
        validator = RowValidator(ds, order, eol.decode())
        statement = sql.SQL(
            "COPY {table} ({columns}) FROM STDIN"
            " WITH (FORMAT csv, DELIMITER {delimiter}, NULL '', QUOTE '\"', ESCAPE '\"')"
        ).format(
            table=sql.Identifier(ds.schema, ds.table),
            columns=sql.SQL(", ").join(
                [
                    *(sql.Identifier(c.name) for c in validator.loaded),
                    sql.Identifier(LOAD_ID_COLUMN),
                    sql.Identifier(LINE_COLUMN),
                ]
            ),
            delimiter=sql.Literal(ds.delimiter),
        )
        seen: KeySet | None = keys
        total = good = 0
        threshold = ds.threshold
        try:
            with cur.copy(statement) as copy:
                try:
                    for chunk in reader.chunks(eol):
                        res = validator.validate(chunk.data, chunk.first_line, seen)
                        if seen is not None and seen.overflowed:
                            seen = None  # too many keys to hold: the primary key decides
                        total += res.rows
                        good += res.good
                        if res.rejects:
                            log.add(res.rejects)
                        if chunk.broken_tail:
                            # every physical line the unterminated quote swallowed counts
                            total += tail_lines(chunk.broken_tail)
                            log.add([validator.broken_tail(chunk.broken_tail, reader_line(chunk))])
                        # one segment holds every good record: their count is known
                        records = res.good if len(res.segments) == 1 else None
                        for data, line in res.segments:
                            numbered = number(
                                data, line, ds.delimiter, eol, records, load_id=load_id
                            )
                            copy.write(validator.project(numbered))
                        if threshold.max_rows is not None and total - good > threshold.max_rows:
                            raise _Rejected(self._too_many(total, good, log, early=True))
                finally:
                    self.last_max_buffer = reader.max_buffer
        except RecordTooLong as err:
            return LoadResult(
                "rejected",
                rows_total=total,
                reason=str(err),
                details=[{"line": err.line, "reason": str(err)}],
            )
        except _Rejected as rejected:
            return rejected.result
        rejected_rows = total - good
        if threshold.exceeded(rejected_rows, total):
            return self._too_many(total, good, log, early=False)
        return LoadResult(
            "loaded",
            rows_loaded=good,
            rows_rejected=rejected_rows,
            rows_total=total,
            details=list(log.details),
        )

    def _too_many(self, total: int, good: int, log: RejectLog, *, early: bool) -> LoadResult:
        bad = total - good
        allowed = self.dataset.threshold.describe()
        if early:
            reason = f"{bad} rows rejected in the first {total} rows; the dataset allows {allowed}"
        else:
            reason = f"{bad} of {total} rows rejected; the dataset allows {allowed}"
        first = log.messages(3)
        if first:
            reason += " (first: " + "; ".join(first) + ")"
        return LoadResult(
            "rejected",
            rows_loaded=0,
            rows_rejected=bad,
            rows_total=total,
            reason=reason,
            details=list(log.details),
        )


class _AlreadyLoaded(Exception):
    pass


def _only_whitespace(reader: RecordReader, eol: bytes) -> bool:
    """After an empty header line: is the rest of the file only whitespace?"""
    return all(
        not chunk.data.strip() and not chunk.broken_tail.strip() for chunk in reader.chunks(eol)
    )


def reader_line(chunk: Any) -> int:
    """Line where a chunk's broken tail starts: after the chunk's whole records."""
    return int(chunk.first_line + chunk.data.count(b"\n"))
