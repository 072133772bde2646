"""The README's worked incident on the local stack: a file rejected, the cause fixed,
the file reprocessed with ``ferry reprocess``, loaded exactly once."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import psycopg
import pytest

from ferry.cli import main
from ferry_dev.local import Stack
from ferry_dev.samples import orders_csv
from tests.e2e.conftest import (
    E2E_GROUP,
    environment_handler,
    ledger,
    new_runtime,
    orders_dataset,
    orders_rows,
    pollers,
    put,
    queue_total,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(E2E_GROUP)]


def ferry(stack: Stack, outputs: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            ["--outputs", str(outputs), "--endpoint-url", stack.endpoint, *argv],
            clients=stack.client,
        )
    return code, out.getvalue(), err.getvalue()


def test_rejected_fixed_reprocessed_loaded_once(stack: Stack, run_id: str, tmp_path: Path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(stack.outputs))
    raw = stack.outputs["bucket_names"]["raw"]
    first = int(time.time() * 1000) % 10**12 * 1000
    key = f"incoming/orders/{run_id}/partner-export.csv"

    # 1. A partner's export with 5 bad rows in 100: over the dataset's 1 %, rejected.
    put(stack, key, orders_csv(orders_dataset(stack), 100, first, bad_rows=5))
    wait_for(lambda: queue_total(stack) == 1, 10, "the S3 event")
    with pollers(stack, [environment_handler()], batch_size=1):
        wait_for(lambda: (ledger(stack, raw, key) or {}).get("status") == "rejected", 60, "reject")
    assert orders_rows(stack, first, first + 99) == 0

    # 2. The operator finds it and reads why.
    code, out, _ = ferry(stack, outputs, "--json", "ls", "--status", "rejected", "--since", "1h")
    assert code == 0
    assert f"s3://{raw}/{key}" in [r["uri"] for r in json.loads(out)]
    code, out, _ = ferry(stack, outputs, "status", key)
    assert code == 0
    assert "5 of 100 rows rejected" in out

    # 3. The fix: the dataset accepts up to 10 % bad rows (a configuration change,
    #    deployed: here, a runtime with the new configuration), then reprocess.
    fixed = new_runtime()
    datasets = copy.deepcopy(dict(fixed.config.datasets))
    datasets["orders"]["reject_threshold"]["max_fraction"] = 0.1
    fixed = dataclasses.replace(fixed, config=dataclasses.replace(fixed.config, datasets=datasets))
    code, out, err = ferry(stack, outputs, "reprocess", key)
    assert code == 0, err
    assert "rejected -> reprocess_requested" in out
    with pollers(stack, [environment_handler(fixed)], batch_size=1):
        wait_for(lambda: (ledger(stack, raw, key) or {}).get("status") == "loaded", 60, "load")
        # 4. Exactly once: a second reprocess is refused, a duplicate delivery is a no-op.
        code, _, err = ferry(stack, outputs, "reprocess", key)
        assert code == 1
        assert "never loaded twice" in err
        body = json.dumps(
            {
                "Records": [
                    {
                        "eventSource": "aws:s3",
                        "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": raw}, "object": {"key": key}},
                    }
                ]
            }
        )
        stack.client("sqs").send_message(QueueUrl=stack.outputs["queue_url"], MessageBody=body)
        wait_for(lambda: queue_total(stack) == 0, 60, "the duplicate to be acknowledged")
    assert orders_rows(stack, first, first + 99) == 95

    item = ledger(stack, raw, key)
    assert item is not None
    assert int(item["attempt"]) == 2
    assert [h["event"] for h in item["history"]] == [
        "finished",
        "reprocess_requested",
        "finished",
    ]
    code, out, _ = ferry(stack, outputs, "--json", "status", key)
    (version,) = json.loads(out)["versions"]
    assert [a["status"] for a in version["attempts"]] == [
        "rejected",
        "reprocess_requested",
        "loaded",
    ]
    (target, _rejects) = version["attempts"][-1]["outputs"]
    load_id = int(target.rpartition("#load=")[2])
    assert any(f"_ferry_load_id = {load_id}" in step for step in version["lineage"])
    # 5. And back from a row to its file: the row's load names the object version.
    with psycopg.connect(stack.postgres().dsn(tcp=False), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT l.bucket, l.key, count(*), min(o._ferry_line)"
            " FROM sales.orders o JOIN ferry.loads l ON l.load_id = o._ferry_load_id"
            " WHERE o.order_id BETWEEN %s AND %s GROUP BY 1, 2",
            (first, first + 99),
        ).fetchall()
        loads = conn.execute(
            "SELECT count(*) FROM ferry.loads WHERE bucket = %s AND key = %s", (raw, key)
        ).fetchone()
    assert rows == [(raw, key, 95, 7)]  # header, 5 bad rows: the first good row is line 7
    assert loads == (1,)
