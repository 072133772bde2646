"""The malware gate: with ``FERRY_MALWARE_GATE=on``, only files GuardDuty found clean are processed.

Wiring (modules/pipeline, ``malware_protection``): GuardDuty Malware Protection
for S3 scans every new object in the raw bucket and publishes a ``GuardDuty
Malware Protection Object Scan Result`` event to the default bus; the pipeline's
rule sends those events (and no ``Object Created`` ones) to the ingest queue.
:mod:`ferry.intake` turns a result into an :class:`~ferry.model.ObjectRef` with
``scan_result`` set. Then, per object (:func:`verdict`):

* ``process``: the result is ``NO_THREATS_FOUND``: the file takes its route as usual;
* ``quarantine``: any other result (``THREATS_FOUND``, or the file could not be
  scanned: ``UNSUPPORTED``, ``ACCESS_DENIED``, ``FAILED``, a scan status without
  a result) rejects the file without reading it: no processor runs and nothing
  reaches a sink. The original version is copied under ``quarantine/`` in the
  failed bucket with its ``.error.json`` sidecar (:data:`QUARANTINE_PREFIX`),
  the ledger records ``rejected`` by processor ``malware_gate`` with the result
  in ``reason`` and ``malware_scan``, and a ``FileRejected`` event says so;
* ``wait``: an event without a scan result (an ``Object Created`` notification
  that still reaches the queue) is acknowledged and logged, nothing is
  recorded: the scan result for the same version follows and decides.

With the gate off, a scan result is treated like any other notification of
the object (its verdict is ignored), so switching the gate off never strands
events already queued.
"""

from __future__ import annotations

from typing import Literal

from ferry.model import ObjectRef, Outcome

CLEAN = "NO_THREATS_FOUND"
PROCESSOR = "malware_gate"
#: Where quarantined files go in the failed bucket (apart from rejected data files).
QUARANTINE_PREFIX = "quarantine/"

Verdict = Literal["process", "quarantine", "wait"]


def verdict(ref: ObjectRef, *, enabled: bool) -> Verdict:
    """What the gate says about one object ref."""
    if not enabled:
        return "process"
    if ref.scan_result is None:
        return "wait"
    return "process" if ref.scan_result == CLEAN else "quarantine"


def quarantined(ref: ObjectRef) -> Outcome:
    """The rejected outcome of a file the gate stops; the reason names the result."""
    result = ref.scan_result or "UNKNOWN"
    if result == "THREATS_FOUND":
        names = ", ".join(ref.threats) or "no threat name given"
        why = f"GuardDuty found threats ({names})"
    else:
        why = f"GuardDuty could not scan the file ({result})"
    return Outcome(
        status="rejected",
        processor=PROCESSOR,
        counts={"threats": len(ref.threats)},
        reason=f"quarantined by the malware gate: {why}; the file was not processed",
        details=[{"scan_result": result}] + [{"threat": t} for t in ref.threats],
    )
