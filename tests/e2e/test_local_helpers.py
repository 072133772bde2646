"""The local stack's pure parts: sample generation, summary arithmetic, the
dead-letter reason, the local configuration, PID handling and the Terraform
calls against the emulator (time limit, registry error)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from ferry.config import parse_config
from ferry.csvload.config import parse_datasets
from ferry_dev import local, samples
from ferry_dev.local import LOCAL_MAX_OBJECT_BYTES, SOURCE_CONFIG, Stack, pid_alive, stop_pid
from ferry_dev.report import latency_seconds, loaded_count, postgres_tables, reject_count


def _config() -> dict:
    return json.loads(SOURCE_CONFIG.read_text())


def test_orders_csv_follows_the_dataset_and_breaks_exactly_the_asked_rows():
    dataset = _config()["datasets"]["orders"]
    body = samples.orders_csv(dataset, 20, 5_000, bad_rows=3)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 20
    assert list(rows[0]) == [c["name"] for c in dataset["columns"]]
    assert [int(r["order_id"]) for r in rows] == list(range(5_000, 5_020))
    broken = [
        r
        for r in rows
        if any(
            v in {"twelve", "2026-13-01", "perhaps", "no-such-value"} or v.startswith("2026-13-01T")
            for v in r.values()
        )
    ]
    assert len(broken) == 3
    assert body.endswith(b"\n")


def test_sample_set_covers_every_kind_and_follows_the_routes():
    config = _config()
    parsed = parse_config(config)
    parse_datasets(config["datasets"])
    built = samples.build_samples(config, "run1", LOCAL_MAX_OBJECT_BYTES)
    names = {s.name for s in built}
    assert names == {
        "valid CSV",
        "CSV with bad rows",
        "JSON records",
        "invalid JSON",
        "JSON to transform",
        "PDF document",
        "PNG image",
        "oversize file",
    }
    for sample in built:
        route = parsed.route_for(sample.key)
        assert route is not None, sample.key
    by_name = {s.name: s for s in built}
    assert by_name["PDF document"].body.startswith(b"%PDF-")
    assert by_name["PNG image"].body.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(by_name["oversize file"].body) == LOCAL_MAX_OBJECT_BYTES + 1
    assert by_name["CSV with bad rows"].expect_status == "loaded"  # 2 of 500 is within 1 %


def test_summary_arithmetic():
    item = {
        "status": "loaded",
        "counts": {"rows_loaded": 498, "rows_rejected": 2},
        "event_time": "2026-11-24T10:00:00.000Z",
        "finished_at": "2026-11-24T10:00:01.500Z",
        "outputs": ["postgresql:sales.orders", "s3://failed/x.rejects.csv"],
    }
    assert loaded_count(item) == 498
    assert reject_count(item) == 2
    assert latency_seconds(item) == 1.5
    assert postgres_tables([item]) == {"sales.orders"}
    assert loaded_count({"status": "loaded", "counts": {"bytes": 9}}) == 1  # a document
    assert loaded_count({"status": "rejected", "counts": {}}) == 0
    assert latency_seconds({"status": "in_progress"}) is None


def test_dead_letter_reason_names_the_deliveries_and_the_last_error():
    from ferry.deadletter import reason_for

    reason = reason_for(3, "database unavailable")
    assert (
        reason
        == "dead-lettered: processing failed on 3 deliveries; last error: database unavailable"
    )
    assert "last error" not in reason_for(None, None)


def test_local_config_lowers_only_the_size_limits_and_adds_the_container_lane(tmp_path):
    stack = Stack(tmp_path)
    written = json.loads(stack.write_config().read_text())
    source = _config()
    assert written["limits"]["max_object_bytes"] == LOCAL_MAX_OBJECT_BYTES
    large, *routes = written["routes"]
    assert large["name"] == "large-orders"
    assert "size_threshold_bytes" in large
    assert large["prefix"] not in {r["prefix"] for r in routes}
    for before, after in zip(source["routes"], routes, strict=True):
        if "max_bytes" in before:
            assert after["max_bytes"] == min(before["max_bytes"], LOCAL_MAX_OBJECT_BYTES)
        assert {k: v for k, v in after.items() if k != "max_bytes"} == {
            k: v for k, v in before.items() if k != "max_bytes"
        }
    parse_config(written)


def test_stop_pid_checks_the_command_line_before_killing():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"up\n"  # exec'd: the command line is the child's
        assert pid_alive(proc.pid, "time.sleep")
        assert not pid_alive(proc.pid, "moto.server")  # a reused PID is not ours
        assert not stop_pid(proc.pid, "moto.server")
        assert proc.poll() is None
        assert stop_pid(proc.pid, "time.sleep", timeout=5)
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert not pid_alive(proc.pid)
    assert not pid_alive(os.getpid() + 10_000_000)


def _fake_terraform(monkeypatch, tmp_path, script: str) -> Stack:
    fake = tmp_path / "terraform"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(local.tf, "terraform_bin", lambda: str(fake))
    monkeypatch.setattr(Stack, "_tf_env", lambda self: dict(os.environ))
    return Stack(tmp_path / "state", verbose=False)


def test_terraform_against_the_emulator_has_a_time_limit(monkeypatch, tmp_path):
    stack = _fake_terraform(monkeypatch, tmp_path, "echo started; exec sleep 30")
    stack.state_dir.mkdir()
    monkeypatch.setattr(local, "TERRAFORM_TIMEOUT", 0.5)
    with pytest.raises(local.LocalError, match=r"terraform apply timed out after 0\.5s"):
        stack._terraform("apply", log_name="apply.log")
    assert (stack.state_dir / "apply.log").read_text() == "started\n"


def test_init_failing_on_the_registry_ends_in_one_line(monkeypatch, tmp_path):
    stack = _fake_terraform(
        monkeypatch,
        tmp_path,
        "echo 'could not connect to registry.terraform.io: failed to request discovery'; exit 1",
    )
    stack.state_dir.mkdir()
    monkeypatch.delenv("TF_MIRROR", raising=False)
    with pytest.raises(local.LocalError) as err:
        stack._terraform("init", log_name="init.log")
    assert str(err.value).startswith(local.tf.NO_PROVIDER_SOURCE + " (full log: ")
    assert "\n" not in str(err.value)
