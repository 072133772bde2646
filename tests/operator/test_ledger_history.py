"""The ledger keeps every attempt and indexes status and time (on the moto server)."""

from __future__ import annotations

import datetime as dt

import pytest

from ferry.intake import object_refs
from ferry.ledger import NotReprocessable
from ferry.model import ObjectRef, Outcome, Transient

pytestmark = pytest.mark.moto


def _ref(deployment, key: str = "incoming/orders.csv", version: str = "v1") -> ObjectRef:
    return ObjectRef(deployment.names["raw"], key, version, etag="e1")


def test_every_attempt_is_appended_not_overwritten(deployment) -> None:
    ledger, ref = deployment.ledger(), _ref(deployment)
    first = ledger.claim(ref, lease_ms=60_000, owner="req-1")
    deployment.clock.tick(seconds=5)
    first.release("PostgreSQL: OperationalError: connection refused")
    deployment.clock.tick(seconds=30)
    second = ledger.claim(ref, lease_ms=60_000, owner="req-2")
    second.finish(
        Outcome("rejected", "csv_postgres", {"rows_rejected": 3}, [], "3 of 3 rows rejected"),
        route="orders",
        timings={"total_ms": 12},
    )
    deployment.clock.tick(minutes=10)
    ledger.request_reprocess(ref.ledger_id, requested_by="arn:aws:iam::1:user/oncall")
    third = ledger.claim(ref, lease_ms=60_000, owner="req-3")
    assert (third.attempt, third.already_done) == (3, False)
    third.finish(
        Outcome("loaded", "csv_postgres", {"rows_loaded": 3}, ["postgresql:sales.orders#load=7"]),
        route="orders",
        timings={"total_ms": 20},
    )

    item = ledger.get(ref.ledger_id)
    events = [(h["event"], h.get("attempt"), h.get("status")) for h in item["history"]]
    assert events == [
        ("retry", 1, None),
        ("finished", 2, "rejected"),
        ("reprocess_requested", None, "reprocess_requested"),
        ("finished", 3, "loaded"),
    ]
    assert item["history"][0]["reason"].startswith("PostgreSQL: OperationalError")
    assert item["history"][1]["reason"] == "3 of 3 rows rejected"
    assert item["history"][2]["requested_by"] == "arn:aws:iam::1:user/oncall"
    assert item["history"][3]["outputs"] == ["postgresql:sales.orders#load=7"]
    assert item["status"] == "loaded"
    assert "reason" not in item
    assert item["status_day"] == f"loaded#{deployment.clock.now.date().isoformat()}"


def test_a_loaded_version_is_never_reprocessed(deployment) -> None:
    ledger, ref = deployment.ledger(), _ref(deployment)
    job = ledger.claim(ref, lease_ms=60_000, owner="req-1")
    job.finish(Outcome("loaded", "csv_postgres", {"rows_loaded": 1}), route="orders", timings={})
    with pytest.raises(NotReprocessable, match="never loaded twice"):
        ledger.request_reprocess(ref.ledger_id, requested_by="me")
    assert ledger.claim(ref, lease_ms=60_000, owner="req-2").already_done
    assert len(ledger.get(ref.ledger_id)["history"]) == 1


def test_reprocess_of_a_live_claim_or_unknown_version_is_refused(deployment) -> None:
    ledger, ref = deployment.ledger(), _ref(deployment)
    with pytest.raises(NotReprocessable, match="no ledger record"):
        ledger.request_reprocess(ref.ledger_id, requested_by="me")
    ledger.claim(ref, lease_ms=60_000, owner="req-1")
    with pytest.raises(NotReprocessable, match="being processed"):
        ledger.request_reprocess(ref.ledger_id, requested_by="me")
    with pytest.raises(Transient):  # the requested status did not steal the live lease
        ledger.claim(ref, lease_ms=60_000, owner="req-2")


def test_dead_lettered_then_reprocessed(deployment) -> None:
    ledger, ref = deployment.ledger(), _ref(deployment)
    ledger.claim(ref, lease_ms=1_000, owner="req-1").release("timeout")
    assert ledger.mark_dead_lettered(ref, "dead-lettered: 3 deliveries", receive_count=3)
    ledger.request_reprocess(ref.ledger_id, requested_by="me")
    again = ledger.request_reprocess(ref.ledger_id, requested_by="me")  # a lost message: resend
    assert again["status"] == "reprocess_requested"
    job = ledger.claim(ref, lease_ms=60_000, owner="req-2")
    assert job.attempt == 2
    assert not job.already_done
    events = [h["event"] for h in ledger.get(ref.ledger_id)["history"]]
    assert events == ["retry", "dead_lettered", "reprocess_requested", "reprocess_requested"]


def test_by_status_queries_day_partitions_and_never_scans(deployment) -> None:
    ledger = deployment.ledger()
    seen: list[str] = []
    client = ledger.dynamodb.client
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: seen.append(model.name)
    )
    old = _ref(deployment, "incoming/old.csv")
    new = _ref(deployment, "incoming/new.csv")
    other = _ref(deployment, "docs/a.json")
    for ref, route, status in ((old, "orders", "rejected"), (other, "docs", "rejected")):
        job = ledger.claim(ref, lease_ms=60_000, owner="r")
        job.finish(Outcome(status, "p", reason="bad"), route=route, timings={})
    deployment.clock.tick(days=1, hours=2)
    job = ledger.claim(new, lease_ms=60_000, owner="r")
    job.finish(Outcome("rejected", "p", reason="bad"), route="orders", timings={})
    now = deployment.clock.now
    seen.clear()

    day = [i["key"] for i in ledger.by_status("rejected", now - dt.timedelta(hours=24))]
    two_days = [i["key"] for i in ledger.by_status("rejected", now - dt.timedelta(hours=48))]
    orders = [
        i["key"] for i in ledger.by_status("rejected", now - dt.timedelta(hours=48), route="orders")
    ]
    assert day == ["incoming/new.csv"]
    assert two_days[0] == "incoming/new.csv"  # newest first
    assert sorted(two_days[1:]) == ["docs/a.json", "incoming/old.csv"]
    assert orders == ["incoming/new.csv", "incoming/old.csv"]
    assert set(seen) == {"Query"}, seen


def test_reprocess_message_names_the_same_ledger_record(deployment) -> None:
    from ferry.cli.ops import Target, s3_event

    target = Target(deployment.names["raw"], "in coming/ä+b.csv", "3Lg0123456789abcdef")
    refs = object_refs(s3_event(target, {"size": 10, "etag": "abc"})).refs
    assert [r.ledger_id for r in refs] == [target.ledger_id()]
    assert refs[0].etag == "abc"
