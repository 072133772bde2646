"""The processor interface.

A processor is a class with a ``name`` and ``run(ref, ctx) -> Outcome``
(:class:`ferry.model.Processor`). It is constructed once per execution
environment without arguments and may cache compiled state (validators,
dataset specs) on itself. Everything it touches goes through ``ctx``, the
:class:`~ferry.runtime.Runtime` for this object (see :mod:`ferry.runtime` for
what it carries).

Rules for processors:

* Permanent problems with the file (bad JSON, schema violations, oversize,
  wrong type, bad rows) are returned as ``Outcome(status="rejected", reason=..., details=[...])``.
  The object flow (:mod:`ferry.flow`) then copies the original and an
  ``.error.json`` sidecar to the failed bucket and records the ledger;
  processors do not do that themselves.
* Reports of skipped rows or records go to the failed bucket through
  ``ctx.failed.write(ref, suffix, body)``, never through ``ctx.s3`` directly.
* Temporary problems (throttling, timeouts, database down) raise
  :class:`~ferry.model.Transient`; the message is retried.
* Loads are idempotent: a second run over the same object version must not
  duplicate anything (deterministic keys, upserts, or a transaction keyed on
  ``ctx.ledger_id``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ferry.model import ObjectRef, Outcome
from ferry.runtime import Runtime


class BaseProcessor(ABC):
    """Optional base class: the name and helpers for building outcomes."""

    name: str = ""

    @abstractmethod
    def run(self, ref: ObjectRef, ctx: Runtime) -> Outcome:
        """Process one object version; permanent problems are rejected outcomes."""

    def loaded(self, **kwargs: Any) -> Outcome:
        return Outcome(status="loaded", processor=self.name, **kwargs)

    def rejected(self, reason: str, **kwargs: Any) -> Outcome:
        return Outcome(status="rejected", processor=self.name, reason=reason, **kwargs)
