"""End to end on the local stack: a CSV over the route's threshold is handed by the
function to the large-file state machine, whose steps the stack runs with
``python -m ferry.task`` as a child process where Fargate would run the container;
a task killed in the middle of its COPY is retried and the file loads exactly once."""

from __future__ import annotations

import subprocess
import threading
import time

import psycopg
import pytest

from ferry_dev.lane import LocalLane, OnStart
from ferry_dev.local import LARGE_PREFIX, LOCAL_CONTAINER_THRESHOLD, Stack
from ferry_dev.samples import orders_csv
from tests.e2e.conftest import (
    E2E_GROUP,
    environment_handler,
    ledger,
    orders_dataset,
    orders_rows,
    pollers,
    put,
    queue_total,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(E2E_GROUP)]


def _first_id() -> int:
    return int(time.time() * 1000) % 10**12 * 1000


def _hand_off(stack: Stack, key: str, body: bytes) -> None:
    """Upload, and let the function hand the object to the state machine."""
    assert len(body) > LOCAL_CONTAINER_THRESHOLD
    put(stack, key, body)
    raw = stack.outputs["bucket_names"]["raw"]
    with pollers(stack, [environment_handler()], batch_size=1):
        wait_for(
            lambda: (
                queue_total(stack) == 0
                and (ledger(stack, raw, key) or {}).get("status") == "in_progress"
            ),
            60,
            "the function's hand-off",
        )


def test_a_large_csv_goes_through_the_container_lane(stack: Stack, run_id: str) -> None:
    first, rows = _first_id(), 3000
    key = f"{LARGE_PREFIX}{run_id}/big.csv"
    _hand_off(stack, key, orders_csv(orders_dataset(stack), rows, first))
    assert orders_rows(stack, first, first + rows - 1) == 0  # the function loaded nothing

    lane = LocalLane(stack, backoff_scale=0.0)
    assert lane.definition_is_the_modules()
    executions = lane.run_pending()
    assert [e.status for e in executions] == ["SUCCEEDED"], [e.history for e in executions]
    assert lane.tasks == [0]
    item = ledger(stack, stack.outputs["bucket_names"]["raw"], key)
    assert item is not None
    assert item["status"] == "loaded"
    assert item["lane"] == "container"
    assert item["processor"] == "csv_postgres"
    assert int(item["counts"]["rows_loaded"]) == rows
    assert item["execution_arn"] == executions[0].arn
    assert orders_rows(stack, first, first + rows - 1) == rows
    assert lane.pending() == []  # the execution is closed on the emulator


def _kill_during_copy(stack: Stack, kills: list[str]) -> OnStart:
    """on_start hook: SIGKILL the first task once PostgreSQL shows its COPY running."""
    dsn = stack.postgres().dsn(tcp=False)

    def watch(proc: subprocess.Popen[bytes]) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE state = 'active' AND query ILIKE 'COPY %'"
                ).fetchone()
                if row and row[0]:
                    proc.kill()
                    kills.append(f"killed task {proc.pid} during COPY")
                    return
                time.sleep(0.02)

    def on_start(proc: subprocess.Popen[bytes]) -> None:
        if not kills:
            threading.Thread(target=watch, args=(proc,), daemon=True).start()

    return on_start


def test_a_task_killed_mid_load_is_retried_and_loads_once(stack: Stack, run_id: str) -> None:
    first, rows = _first_id(), 60_000
    key = f"{LARGE_PREFIX}{run_id}/killed.csv"
    _hand_off(stack, key, orders_csv(orders_dataset(stack), rows, first))

    kills: list[str] = []
    lane = LocalLane(stack, backoff_scale=0.0, on_start=_kill_during_copy(stack, kills))
    executions = lane.run_pending()
    assert len(kills) == 1, "the task was never seen copying: nothing was killed"
    assert [e.status for e in executions] == ["SUCCEEDED"], [e.history for e in executions]
    assert ("RunTask", "retry 1 after States.TaskFailed") in executions[0].history
    assert lane.tasks == [-9, 0]  # SIGKILL, then the retry
    item = ledger(stack, stack.outputs["bucket_names"]["raw"], key)
    assert item is not None
    assert item["status"] == "loaded"
    assert int(item["counts"]["rows_loaded"]) == rows
    assert orders_rows(stack, first, first + rows - 1) == rows  # exactly once
