"""File events out: every terminal state, published to an EventBridge bus.

``FileLoaded``, ``FileRejected`` and ``FileDeadLettered`` (detail-types) carry
what a downstream team needs to act on a file without reading the ledger:
bucket, key, version, route, processor, counts, outputs, reason, ledger id,
attempt and when it finished (schema and examples: ``docs/events.md``). The
detail is built from the ledger's record of the file (:func:`detail`), so a
republished event says exactly what the ledger says.

Order and failures. The ledger is written first and is the truth; the event
follows it. :meth:`Publisher.publish` calls ``PutEvents`` once per file:

* an entry EventBridge reports as throttled or failed inside EventBridge
  (``ThrottlingException``, ``InternalFailure``, ...) is sent again, up to
  ``max_attempts`` calls with full-jitter backoff; a whole call that fails the
  same way, or with an answer about the deployment (access denied, a source
  or detail-type the role may not publish, a bus that does not exist), is
  :class:`~ferry.model.Transient`, as everywhere in ferry
  (:func:`ferry.aws.classify`). The caller hands the SQS message back; on the
  next delivery the ledger says the file is done (nothing is loaded again) and
  the event is published again from the ledger's record. Events are therefore
  delivered at least once: consumers deduplicate on ``detail.ledger_id`` with
  ``detail.attempt`` (or ``detail.finished_at``).
* an entry EventBridge refuses for good (``MalformedDetail``,
  ``InvalidArgument``, a 4xx answer that is not about the deployment) is
  logged and counted (EMF ``EventsNotPublished``) and the message is
  acknowledged: sending it again cannot succeed, and the file stays done.

Standard library only at import time; boto3 is imported on the first call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ferry.aws import ObjectGone, Refused, classify, client, full_jitter, translate_errors
from ferry.model import Transient

log = logging.getLogger("ferry.events")

SCHEMA_VERSION = "1"
DETAIL_TYPES = {
    "loaded": "FileLoaded",
    "rejected": "FileRejected",
    "dead_lettered": "FileDeadLettered",
}
DEFAULT_SOURCE = "ferry"
MAX_OUTPUTS = 100  # an entry must stay below EventBridge's 256 KB
#: Per-entry error codes that EventBridge documents as worth a retry.
_ENTRY_TRANSIENT = frozenset({"InternalFailure", "InternalException", "ServiceUnavailable"})
#: Per-entry refusals by the role's policy (PutEventsResultEntry): the deployment, not the
#: event, so retried until fixed like a whole call's AccessDeniedException, never acknowledged.
_ENTRY_DEPLOYMENT = frozenset(
    {"NotAuthorizedForSourceException", "NotAuthorizedForDetailTypeException"}
)


class PublishRefused(Exception):
    """EventBridge refused the event for good (malformed, too large): not retried."""


def _number_map(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int | float)}


def detail(record: Mapping[str, Any]) -> dict[str, Any]:
    """The event detail for a file's ledger record (a terminal one)."""
    status = str(record.get("status"))
    if status not in DETAIL_TYPES:
        raise ValueError(f"status {status!r} is not a terminal file state with an event")
    outputs = [str(o) for o in (record.get("outputs") or [])]
    version = record.get("version_id")
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "ledger_id": str(record["ledger_id"]),
        "status": status,
        "bucket": str(record["bucket"]),
        "key": str(record["key"]),
        "version_id": None if version in (None, "null") else str(version),
        "route": record.get("route"),
        "processor": record.get("processor"),
        "counts": _number_map(record.get("counts")),
        "outputs": outputs[:MAX_OUTPUTS],
        "reason": record.get("reason"),
        "attempt": int(record.get("attempt") or 0),
        "finished_at": record.get("finished_at"),
    }
    if len(outputs) > MAX_OUTPUTS:
        body["outputs_truncated"] = len(outputs)
    if record.get("processor") == "malware_gate":  # the gate's verdict is its first detail
        first = (record.get("details") or [{}])[0]
        body["malware_scan"] = str(first.get("scan_result") or "UNKNOWN")
    return body


def entry_is_transient(code: str) -> bool:
    """Whether a failed PutEvents entry is worth sending again (throttling, EventBridge's own)."""
    return (
        code in _ENTRY_TRANSIENT
        or code in _ENTRY_DEPLOYMENT
        or classify(code, 400) in {"transient", "deployment"}
    )


class Publisher:
    """PutEvents for one bus (name or ARN), one file per call."""

    def __init__(
        self,
        bus: str,
        *,
        source: str = DEFAULT_SOURCE,
        events_client: Any = None,
        max_attempts: int = 3,
        base_delay_ms: int = 100,
        max_delay_ms: int = 2_000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus = bus
        self.source = source
        self._client = events_client
        self.max_attempts = max_attempts
        self.base_delay_ms = base_delay_ms
        self.max_delay_ms = max_delay_ms
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("events")
        return self._client

    def entry(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The PutEvents entry for one ledger record."""
        body = detail(record)
        return {
            "Source": self.source,
            "DetailType": DETAIL_TYPES[body["status"]],
            "Detail": json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str),
            "EventBusName": self.bus,
        }

    def publish(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Publish the event of one ledger record; returns the entry sent.

        Raises :class:`Transient` (retry the message later) or :class:`PublishRefused`.
        """
        entry = self.entry(record)
        for attempt in range(self.max_attempts):
            if attempt:
                self._sleep(full_jitter(attempt - 1, self.base_delay_ms, self.max_delay_ms))
            try:
                with translate_errors(f"PutEvents {self.bus}"):
                    response = self.client.put_events(Entries=[entry])
            except (Refused, ObjectGone) as err:
                raise PublishRefused(str(err)) from err
            results = response.get("Entries") or [{}]
            failure = results[0] if response.get("FailedEntryCount") else {}
            code = str(failure.get("ErrorCode") or "")
            if not code:
                return entry
            message = f"PutEvents {self.bus}: {code}: {failure.get('ErrorMessage') or ''}"
            if not entry_is_transient(code):
                raise PublishRefused(message)
            log.warning("event not accepted yet, sending again: %s", message)
        raise Transient(f"{message} (after {self.max_attempts} attempts)")


def from_settings(settings: Any) -> Publisher | None:
    """The publisher the settings ask for (``FERRY_EVENT_BUS``), or None when events are off."""
    bus = getattr(settings, "event_bus", None)
    if not bus:
        return None
    return Publisher(bus, source=getattr(settings, "event_source", None) or DEFAULT_SOURCE)
