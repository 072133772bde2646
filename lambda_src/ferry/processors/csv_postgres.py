"""CSV -> PostgreSQL: the route's dataset, loaded exactly once by :mod:`ferry.csvload`.

Route options: ``dataset`` (a name under ``datasets`` in the configuration).

* Good rows are loaded with ``COPY`` in one transaction with the load record,
  so redelivered events never load twice and a failure leaves nothing behind.
* Bad rows within the dataset's threshold are skipped and listed in
  ``<key>.rejects.csv`` (``line,column,reason,raw``) in the failed bucket; the
  outcome is ``loaded`` with ``rows_rejected`` counted.
* A header that does not match, or too many bad rows, rejects the whole file
  (the handler copies the original and writes the ``.error.json`` sidecar);
  the rejects CSV is written too.
* Database and S3 failures are :class:`~ferry.model.Transient` (retried).

The connection comes from ``ctx.db`` (:func:`ferry.db.connect` in a deployed
function: Secrets Manager or IAM auth, verify-full TLS) and is kept across
invocations, checked before each reuse.
"""

from __future__ import annotations

from typing import Any

from ferry.csvload.config import Dataset, parse_dataset
from ferry.csvload.loader import Loader, Source
from ferry.csvload.rejects import RejectLog
from ferry.db import ConnectionCache
from ferry.model import ObjectRef, Outcome, Transient
from ferry.processors.base import BaseProcessor
from ferry.rejects import REJECTS_SUFFIX
from ferry.runtime import Runtime


class CsvPostgresProcessor(BaseProcessor):
    name = "csv_postgres"

    def __init__(self) -> None:
        self._loaders: dict[tuple[str, int], Loader] = {}
        self._caches: dict[int, ConnectionCache] = {}

    def _loader(self, ctx: Runtime, name: str) -> Loader:
        spec = ctx.config.datasets.get(name)
        key = (name, id(spec))
        loader = self._loaders.get(key)
        if loader is None:
            dataset: Dataset = parse_dataset(name, spec)
            loader = Loader(dataset, max_details=ctx.limits.max_reported_errors)
            self._loaders[key] = loader
        return loader

    def _connections(self, ctx: Runtime) -> ConnectionCache:
        factory = ctx.db
        cache = self._caches.get(id(factory))
        if cache is None:
            cache = ConnectionCache(lambda: _autocommit(factory()))
            self._caches = {id(factory): cache}
        return cache

    def run(self, ref: ObjectRef, ctx: Runtime) -> Outcome:
        name = ctx.route.get("dataset")
        loader = self._loader(ctx, name)
        source = Source(ref.bucket, ref.key, ref.version_id, ref.etag)
        written: list[str] = []

        def open_stream() -> Any:
            body, _length = ctx.s3.stream(ref)
            return body.read

        def on_rejects(log: RejectLog) -> None:
            written.append(
                ctx.failed.write(
                    ref, REJECTS_SUFFIX, log.getvalue(), content_type="text/csv; charset=utf-8"
                )
            )

        cache = self._connections(ctx)
        conn = cache.get()
        try:
            result = loader.load(conn, source, open_stream, on_rejects)
        except Transient:
            cache.discard()  # the connection may be broken; the next attempt opens a fresh one
            raise
        table = loader.dataset.qualified_table
        if result.status == "rejected":
            ctx.log.warning("csv file rejected: %s", result.reason)
            return self.rejected(
                result.reason or "rejected",
                counts=result.counts,
                outputs=written,
                details=result.details,
            )
        if result.status == "already_loaded":
            ctx.log.info("csv file already loaded into %s", table)
        counts = result.counts
        # ``#load=<id>``: the rows' _ferry_load_id and the ferry.loads record (lineage).
        target = f"postgresql:{table}" + (f"#load={result.load_id}" if result.load_id else "")
        return self.loaded(counts=counts, outputs=[target, *written])


def _autocommit(conn: Any) -> Any:
    """The loader opens its own transactions; health checks must not leave one open."""
    if not conn.autocommit:
        conn.autocommit = True
    return conn
