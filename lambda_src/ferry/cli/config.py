"""Where the ``ferry`` command finds a deployment: one outputs file, flags or environment.

The simplest is the composition's outputs, saved once per environment::

    terraform -chdir=environments/prod output -json > prod.json
    ferry --outputs prod.json ls --status rejected

Both shapes work: the environments' single ``ferry`` output (the whole
composition) and the local stack's flat outputs. A flag or variable overrides
what the file says:

=====================  ======================  ===========================================
flag                   environment             outputs file
=====================  ======================  ===========================================
``--outputs``          ``FERRY_OUTPUTS``       (the file itself)
``--ledger-table``     ``FERRY_LEDGER_TABLE``  ``table_names.ledger``
``--status-index``     ``FERRY_STATUS_INDEX``  ``ledger_status_index_name`` (``status-time``)
``--raw-bucket``       ``FERRY_RAW_BUCKET``    ``bucket_names.raw``
``--processed-bucket`` ``FERRY_PROCESSED_BUCKET`` ``bucket_names.processed``
``--queue-url``        ``FERRY_QUEUE_URL``     ``queue_url``
``--dlq-url``          ``FERRY_DLQ_URL``       ``dlq_url``
``--endpoint-url``     ``AWS_ENDPOINT_URL``    (the local stack's emulator)
``--region``           ``AWS_REGION``          ``region``
=====================  ======================  ===========================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.ledger import STATUS_INDEX


class ConfigError(Exception):
    """The command cannot tell which deployment to talk to."""


@dataclass(frozen=True, slots=True)
class Deployment:
    ledger_table: str | None = None
    status_index: str = STATUS_INDEX
    raw_bucket: str | None = None
    processed_bucket: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    def need(self, attribute: str, flag: str) -> str:
        value = getattr(self, attribute)
        if not value:
            env = "FERRY_" + attribute.upper()
            raise ConfigError(f"no {attribute.replace('_', ' ')}: pass --outputs, {flag} or {env}")
        return str(value)


def flatten(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``terraform output -json`` (``{name: {"value": v}}``) to ``{name: v}``; one ``ferry``
    output holding the composition's outputs is opened."""
    flat = {
        k: v["value"] if isinstance(v, dict) and "value" in v and "type" in v else v
        for k, v in raw.items()
    }
    nested = flat.get("ferry")
    if isinstance(nested, dict) and "table_names" in nested:
        flat = {**nested, **{k: v for k, v in flat.items() if k != "ferry"}}
    return flat


def read_outputs(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read the outputs file {path}: {err.strerror}") from None
    except ValueError as err:
        raise ConfigError(f"{path} is not JSON (terraform output -json): {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected the JSON object terraform output -json writes")
    return flatten(data)


def resolve(flags: Mapping[str, str | None], env: Mapping[str, str] | None = None) -> Deployment:
    """Flags, then environment, then the outputs file."""
    env = os.environ if env is None else env

    def pick(name: str, variable: str) -> str | None:
        value = flags.get(name) or env.get(variable, "").strip()
        return value or None

    outputs_path = pick("outputs", "FERRY_OUTPUTS")
    out = read_outputs(Path(outputs_path)) if outputs_path else {}
    tables = out.get("table_names") if isinstance(out.get("table_names"), dict) else {}
    buckets = out.get("bucket_names") if isinstance(out.get("bucket_names"), dict) else {}
    return Deployment(
        ledger_table=pick("ledger_table", "FERRY_LEDGER_TABLE") or tables.get("ledger"),
        status_index=pick("status_index", "FERRY_STATUS_INDEX")
        or out.get("ledger_status_index_name")
        or STATUS_INDEX,
        raw_bucket=pick("raw_bucket", "FERRY_RAW_BUCKET") or buckets.get("raw"),
        processed_bucket=pick("processed_bucket", "FERRY_PROCESSED_BUCKET")
        or buckets.get("processed"),
        queue_url=pick("queue_url", "FERRY_QUEUE_URL") or out.get("queue_url"),
        dlq_url=pick("dlq_url", "FERRY_DLQ_URL") or out.get("dlq_url"),
        endpoint_url=pick("endpoint_url", "AWS_ENDPOINT_URL"),
        region=pick("region", "AWS_REGION") or env.get("AWS_DEFAULT_REGION") or out.get("region"),
        profile=pick("profile", "AWS_PROFILE"),
    )
