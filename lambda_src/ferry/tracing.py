"""Tracing behind one small interface: :func:`span` and :func:`annotate`.

The backend today is the AWS X-Ray SDK (``aws-xray-sdk``). It is in maintenance
mode and reaches end of support on 2027-02-25; moving to OpenTelemetry (the
ADOT layer) means rewriting this module only: nothing else imports X-Ray.

Tracing is on only inside Lambda (``AWS_LAMBDA_FUNCTION_NAME`` and
``LAMBDA_TASK_ROOT`` set; the local stack sets only the first), unless
``FERRY_TRACING=off`` or ``AWS_XRAY_SDK_ENABLED=false``; everywhere else (tests,
the local stack, the build) :func:`span` is a no-op and the SDK is never
imported. In Lambda the SDK reads the trace header the runtime sets and sends
subsegments over UDP to the daemon address; with no daemon listening the
datagrams are simply dropped, and a missing segment is logged, not raised
(``context_missing=LOG_ERROR``), so tracing can never fail an invocation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("ferry.tracing")

_recorder: Any = None
_state: str = "unknown"  # unknown | on | off


def enabled() -> bool:
    """Decide once whether to trace; import and configure the SDK if so."""
    global _recorder, _state
    if _state == "unknown":
        _state = "off"
        wanted = (
            bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
            and bool(os.environ.get("LAMBDA_TASK_ROOT"))  # set by the Lambda service only
            and os.environ.get("FERRY_TRACING", "on").lower() not in {"off", "false", "0"}
            and os.environ.get("AWS_XRAY_SDK_ENABLED", "true").lower() != "false"
        )
        if wanted:
            try:
                from aws_xray_sdk.core import patch, xray_recorder

                xray_recorder.configure(context_missing="LOG_ERROR", service="ferry")
                patch(("botocore",))  # AWS calls become subsegments
                _recorder = xray_recorder
                _state = "on"
            except Exception as err:  # tracing must never break processing
                log.warning("X-Ray tracing disabled: %s", err)
    return _state == "on"


def reset() -> None:
    """Forget the decision (tests switch tracing on and off)."""
    global _recorder, _state
    _recorder, _state = None, "unknown"


class Span:
    """A handle on the current span: annotations are indexed, metadata is not."""

    def __init__(self, segment: Any = None) -> None:
        self._segment = segment

    def annotate(self, **values: str | int | float | bool | None) -> None:
        if self._segment is None:
            return
        for key, value in values.items():
            if value is not None:
                try:
                    self._segment.put_annotation(key, value)
                except Exception as err:  # pragma: no cover - SDK-side validation
                    log.debug("annotation %s dropped: %s", key, err)

    def metadata(self, key: str, value: Any) -> None:
        if self._segment is not None:
            try:
                self._segment.put_metadata(key, value, "ferry")
            except Exception as err:  # pragma: no cover
                log.debug("metadata %s dropped: %s", key, err)


@contextmanager
def span(name: str, **annotations: str | int | float | bool | None) -> Iterator[Span]:
    """A subsegment named ``name`` around the block (no-op when tracing is off)."""
    if not enabled():
        yield Span()
        return
    with _recorder.in_subsegment(name) as subsegment:
        handle = Span(subsegment)
        handle.annotate(**annotations)
        yield handle
