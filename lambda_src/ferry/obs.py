"""Structured JSON logs and CloudWatch Embedded Metric Format (EMF) metrics.

Standard library only. Every log line is one JSON object with ``level``,
``message``, ``logger``, ``timestamp`` and the fields bound for the object being
processed (``key``, ``ledger_id``, ``bucket``, ``version_id``, ``message_id``,
``request_id``), set with :func:`bind` for the duration of a ``with`` block.

Each invocation runs inside :func:`invocation`, which adds ``cold_start``
(true on the execution environment's first invocation), ``xray_trace_id`` (the
root of ``_X_AMZN_TRACE_ID``: the same id X-Ray, or an OpenTelemetry collector
reading the trace header, shows) and ``function_name`` / ``function_version``
to every line, and with probability ``FERRY_LOG_SAMPLE_RATE`` lowers the level
to DEBUG for that invocation only (``debug_sampled: true`` on its lines).

Metrics are printed to stdout as EMF JSON lines: CloudWatch Logs extracts them
into metrics without any API call (namespace ``FERRY_METRICS_NAMESPACE``,
default ``Ferry``; dimension ``Service``, the function's name). Per file:
``Files``, ``Records``, ``Rejects``, ``Duration`` by ``Processor``, by ``Route`` and
for the function; per batch: ``Messages``, ``BadMessages``, ``BatchItemFailures``
(the messages handed back for a retry). ``ColdStart`` is emitted once per
execution environment.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import IO, Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_bound: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "ferry_log", default=_EMPTY
)

# Attributes every LogRecord has; anything else came in through ``extra=``.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_bound.get())
        for name, value in record.__dict__.items():
            if name not in _RESERVED and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
            entry["exception_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry, default=str, ensure_ascii=False)


_configured = False


def setup_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Logger:
    """Give the ``ferry`` logger one JSON handler on stdout (idempotent)."""
    global _configured
    logger = logging.getLogger("ferry")
    if not _configured or stream is not None:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False  # the Lambda runtime's root handler would print it twice
        _configured = True
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    return logger


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block."""
    token = _bound.set({**_bound.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _bound.reset(token)


_cold_start = True


def trace_id(env: Mapping[str, str] | None = None) -> str | None:
    """The X-Ray root trace id of the current invocation (``_X_AMZN_TRACE_ID``), if any."""
    header = (os.environ if env is None else env).get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        if part.startswith("Root="):
            return part[5:] or None
    return None


@contextmanager
def invocation(
    request_id: str,
    *,
    sample_rate: float = 0.0,
    rand: Callable[[], float] = random.random,
    env: Mapping[str, str] | None = None,
) -> Iterator[bool]:
    """Bind the invocation's correlation fields; yields whether this is a cold start."""
    global _cold_start
    cold, _cold_start = _cold_start, False
    env = os.environ if env is None else env
    logger = logging.getLogger("ferry")
    level = logger.level
    sampled = sample_rate > 0 and rand() < sample_rate
    if sampled:
        logger.setLevel(logging.DEBUG)
    try:
        with bind(
            request_id=request_id,
            cold_start=cold,
            xray_trace_id=trace_id(env),
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or None,
            function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION") or None,
            debug_sampled=True if sampled else None,
        ):
            yield cold
    finally:
        logger.setLevel(level)


class Metrics:
    """EMF metric lines: one per processed object, one per batch."""

    def __init__(
        self, namespace: str = "Ferry", service: str = "ferry", out: IO[str] | None = None
    ):
        self.namespace = namespace
        self.service = service
        self.out = out

    def emit(
        self,
        values: Mapping[str, tuple[float, str]],
        dimensions: Mapping[str, str],
        properties: Mapping[str, Any] | None = None,
        *,
        dimension_sets: list[list[str]] | None = None,
    ) -> dict[str, Any]:
        """Print one EMF document. ``values``: name -> (value, unit).

        ``dimension_sets``: the dimension combinations the metrics are recorded
        under (each also gets ``Service``); default: all of ``dimensions`` together.
        """
        dims = {"Service": self.service, **dimensions}
        sets = (
            [sorted({"Service", *names}) for names in dimension_sets]
            if dimension_sets is not None
            else [sorted(dims)]
        )
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": sets,
                        "Metrics": [{"Name": n, "Unit": u} for n, (_, u) in values.items()],
                    }
                ],
            },
            **dims,
            **{n: v for n, (v, _) in values.items()},
            **(properties or {}),
        }
        out = self.out or sys.stdout
        out.write(json.dumps(document, default=str, separators=(",", ":")) + "\n")
        out.flush()
        return document

    def object_done(
        self,
        *,
        processor: str,
        status: str,
        records: int,
        duration_ms: float,
        route: str | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One file's metrics, by processor, by route and for the whole function.

        ``Service`` alone is what the pipeline's rejection-rate alarm reads
        (``Rejects`` / ``Files``); ``Route`` splits rejects by route on the dashboard
        (``(none)`` for a key no route matches).
        """
        return self.emit(
            {
                "Files": (1, "Count"),
                "Records": (records, "Count"),
                "Rejects": (1 if status == "rejected" else 0, "Count"),
                "Duration": (round(duration_ms, 3), "Milliseconds"),
            },
            {"Processor": processor, "Route": route or "(none)"},
            {"status": status, **(properties or {})},
            dimension_sets=[["Processor"], ["Route"], []],
        )

    def cold_start(self) -> dict[str, Any]:
        """``ColdStart`` = 1, once per execution environment (dimension ``Service``)."""
        return self.emit({"ColdStart": (1, "Count")}, {})
