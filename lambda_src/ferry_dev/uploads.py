"""What the sample set uploads and what must happen to it, shared by the sample
set (which uploads) and the report (which checks the ledger against it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Ledger statuses after which nothing more happens to a file.
TERMINAL = ("loaded", "rejected", "dead_lettered", "failed")
#: Statuses that mean "dead-lettered" (``failed``: written by ferry 1.x).
DEAD = ("dead_lettered", "failed")


@dataclass
class Sample:
    name: str
    key: str
    body: bytes
    expect_status: str
    expect_loaded: int | None = None
    expect_rejects: int | None = None
    content_type: str = "application/octet-stream"


@dataclass
class Upload:
    sample: Sample
    ledger_id: str  # s3://bucket/key#version, as S3 events name the version
    uploaded_at: float

    @property
    def candidates(self) -> tuple[str, str]:
        """The ledger id, and the one used when the event names no version.

        moto's S3 notifications carry no versionId, so on the local stack the
        ledger keys objects as ``...#null``.
        """
        return self.ledger_id, self.ledger_id.rsplit("#", 1)[0] + "#null"


def resolve(items: dict[str, dict[str, Any]], upload: Upload) -> dict[str, Any] | None:
    for candidate in upload.candidates:
        if candidate in items:
            return items[candidate]
    return None
