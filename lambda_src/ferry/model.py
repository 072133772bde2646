"""Types shared by intake, the ledger, the processors and the handler.

Kept free of third-party imports: importing this module costs nothing at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One S3 object version that an event says has landed."""

    bucket: str
    key: str  # decoded: never URL-encoded
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None
    sequencer: str | None = None
    event_time: str | None = None
    message_id: str | None = None  # SQS messageId, for batchItemFailures
    # GuardDuty Malware Protection for S3: the scan result this event reports
    # (scanResultStatus, e.g. NO_THREATS_FOUND) and the threats named; None for
    # an ObjectCreated event (see ferry.gate).
    scan_result: str | None = None
    threats: tuple[str, ...] = ()

    @property
    def ledger_id(self) -> str:
        """Stable id of this object version (the ledger's partition key)."""
        return f"s3://{self.bucket}/{self.key}#{self.version_id or 'null'}"

    def __str__(self) -> str:
        version = f" (version {self.version_id})" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{version}"


@dataclass(slots=True)
class Outcome:
    """What a processor did with one object. Permanent problems are outcomes, not exceptions."""

    status: Literal["loaded", "rejected"]
    processor: str
    counts: dict[str, int] = field(default_factory=dict)  # e.g. rows_loaded, rows_rejected
    outputs: list[str] = field(default_factory=list)  # s3://... or table names written to
    reason: str | None = None  # one line: why the file was rejected
    details: list[dict[str, Any]] = field(default_factory=list)  # line/column/path specifics


class Transient(Exception):
    """A failure worth retrying later: throttling, timeouts, a database that is down."""


class Processor(Protocol):
    """A processor turns one object into an Outcome. ``ctx`` carries the adapters."""

    name: str

    def run(self, ref: ObjectRef, ctx: Any) -> Outcome: ...
