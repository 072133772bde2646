"""The processor interface and the processing context (``ctx``).

A processor is a class with a ``name`` and ``run(ref, ctx) -> Outcome``
(:class:`ferry.model.Processor`). It is constructed once per execution
environment without arguments and may cache compiled state (validators,
dataset specs) on itself. Everything it touches goes through ``ctx``:

==================  ==========================================================
``ctx.route``       the matched :class:`~ferry.config.Route` (``ctx.route.get("schema")``)
``ctx.config``      the whole :class:`~ferry.config.Config` (schemas, datasets, limits)
``ctx.limits``      shortcut for ``ctx.config.limits``
``ctx.settings``    :class:`~ferry.settings.Settings` (table and bucket names)
``ctx.s3``          :class:`~ferry.aws.S3`: ``stream``, ``read``, ``read_range``, ``put``, ``copy``
``ctx.dynamodb``    :class:`~ferry.aws.DynamoDB`: ``put_item``, ``batch_write``
``ctx.db``          PostgreSQL connection factory: ``with ctx.db() as conn: ...``
``ctx.ledger_id``   this object version's ledger id (``ref.ledger_id``)
``ctx.now()``       the clock: an aware UTC datetime (fixed in tests)
``ctx.remaining_ms()``  milliseconds left before the function's deadline
``ctx.log``         the structured logger (every line carries key and ledger id)
==================  ==========================================================

Rules for processors:

* Permanent problems with the file (bad JSON, schema violations, oversize,
  wrong type, bad rows) are returned as ``Outcome(status="rejected", reason=..., details=[...])``.
  The handler then copies the original and an ``.error.json`` sidecar to the
  failed bucket and records the ledger; processors do not do that themselves.
* Temporary problems (throttling, timeouts, database down) raise
  :class:`~ferry.model.Transient`; the message is retried.
* Loads are idempotent: a second run over the same object version must not
  duplicate anything (deterministic keys, upserts, or a transaction keyed on
  ``ctx.ledger_id``).
"""

from __future__ import annotations

import datetime as dt
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ferry.aws import S3, DynamoDB
from ferry.config import Config, Limits, Route
from ferry.model import ObjectRef, Outcome
from ferry.settings import Settings


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _no_database(**_: Any) -> Any:
    raise RuntimeError("no PostgreSQL connection factory is configured for this context")


@dataclass(slots=True)
class ProcessingContext:
    route: Route
    config: Config
    settings: Settings
    s3: S3
    dynamodb: DynamoDB
    ledger_id: str
    db: Callable[..., Any] = _no_database
    clock: Callable[[], dt.datetime] = utc_now
    remaining_ms: Callable[[], int] = field(default=lambda: 900_000)
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("ferry")
    )

    @property
    def limits(self) -> Limits:
        return self.config.limits

    def now(self) -> dt.datetime:
        return self.clock()


class BaseProcessor(ABC):
    """Optional base class: the name and helpers for building outcomes."""

    name: str = ""

    @abstractmethod
    def run(self, ref: ObjectRef, ctx: ProcessingContext) -> Outcome:
        """Process one object version; permanent problems are rejected outcomes."""

    def loaded(self, **kwargs: Any) -> Outcome:
        return Outcome(status="loaded", processor=self.name, **kwargs)

    def rejected(self, reason: str, **kwargs: Any) -> Outcome:
        return Outcome(status="rejected", processor=self.name, reason=reason, **kwargs)
