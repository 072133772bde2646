"""Lambda entry point ``ferry.handler.handler``: SQS batch in, partial batch response out.

Thin: the runtime (settings, configuration, adapters) is built once per
execution environment; everything per object happens in :mod:`ferry.flow`.
Module-level imports are the standard library and ferry's own light modules;
boto3 is imported when the first client is made, jsonschema and psycopg only by
the processors that use them.
"""

from __future__ import annotations

from typing import Any

from ferry import flow
from ferry.runtime import Runtime

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The execution environment's runtime, built from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_env()
    return _runtime


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return flow.handle(event, context, runtime())
