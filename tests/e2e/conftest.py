"""One local stack per test session: moto + PostgreSQL + environments/local applied.

Every end-to-end test shares it (they are grouped on one xdist worker). Tests
isolate their data by key prefix (a run id per test) and start from empty
queues; fault-injection tests run pollers in-process, each with its own
handler runtime (one per simulated Lambda execution environment).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ferry_dev.local import REPO, Stack, environment
from ferry_dev.services import ServiceError, find_pg_bin
from ferry_dev.worker import EventSource, SqsEventSource
from tests.conftest import missing

E2E_GROUP = "local-stack"
CACHE = REPO / ".cache"


@pytest.fixture(scope="session")
def local_stack(terraform_ready: str) -> Iterator[Stack]:
    try:
        find_pg_bin("initdb")
        find_pg_bin("pg_ctl")
    except ServiceError as err:
        missing(str(err))
    # Tests purge the queues between them; SQS (and moto by default) allow one
    # purge a minute per queue.
    # Under the repository, not pytest's private tmp: PostgreSQL runs as its own
    # user when the tests run as root and must reach its data directory.
    CACHE.mkdir(exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix="e2e-stack-", dir=CACHE))
    state_dir.chmod(0o755)
    stack = Stack(
        state_dir,
        verbose=False,
        moto_env={"MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false"},
    )
    try:
        stack.up(workers=0)
        yield stack
    finally:
        stack.down(quiet=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def stack(local_stack: Stack) -> Iterator[Stack]:
    """The shared stack with empty queues and no background workers."""
    local_stack.stop_workers()
    drain(local_stack)
    # The processors' environment, for in-process handlers (only during the test:
    # other tests on this worker must not see the stack's endpoint).
    with environment(local_stack.function_env()):
        yield local_stack
    local_stack.stop_workers()
    restore_queue(local_stack)


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:10]


def drain(stack: Stack) -> None:
    sqs = stack.client("sqs")
    for key in ("queue_url", "dlq_url"):
        sqs.purge_queue(QueueUrl=stack.outputs[key])


def restore_queue(stack: Stack) -> None:
    """Undo what fault-injection tests change on the ingest queue."""
    sqs = stack.client("sqs")
    attrs = {
        "VisibilityTimeout": str(stack.outputs["visibility_timeout_seconds"]),
        "RedrivePolicy": json.dumps(
            {
                "deadLetterTargetArn": dlq_arn(stack),
                "maxReceiveCount": stack.max_receive_count(),
            }
        ),
    }
    sqs.set_queue_attributes(QueueUrl=stack.outputs["queue_url"], Attributes=attrs)


def dlq_arn(stack: Stack) -> str:
    return stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["dlq_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]


def set_queue(stack: Stack, *, visibility: int, max_receive: int | None = None) -> None:
    attrs = {"VisibilityTimeout": str(visibility)}
    if max_receive is not None:
        attrs["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn(stack), "maxReceiveCount": max_receive}
        )
    stack.client("sqs").set_queue_attributes(QueueUrl=stack.outputs["queue_url"], Attributes=attrs)


def new_runtime() -> Any:
    """A handler runtime of its own: one simulated execution environment."""
    from ferry.runtime import Runtime

    return Runtime.from_env()


def deadletter_handler(stack: Stack) -> Callable[[dict[str, Any], Any], Any]:
    """The dead-letter consumer in-process, with its own environment and credentials."""
    from ferry import deadletter

    with environment(stack.deadletter_env()):
        consumer = deadletter.Consumer.from_env()
        _ = consumer.ledger.dynamodb.client  # made now: with the consumer's credentials
    return lambda event, context: deadletter.handle(event, context, consumer)


def environment_handler(runtime: Any | None = None) -> Callable[[dict[str, Any], Any], Any]:
    from ferry.flow import handle

    rt = runtime or new_runtime()
    return lambda event, context: handle(event, context, rt)


@contextmanager
def pollers(
    stack: Stack,
    handlers: list[Callable[[dict[str, Any], Any], Any]],
    *,
    visibility_timeout: int | None = None,
    batch_size: int = 10,
    queue: str = "queue_url",
    role: str = "processor",
) -> Iterator[list[SqsEventSource]]:
    """Run one in-process poller thread per handler on a queue, with the function role's SQS."""
    out = stack.outputs
    stop = threading.Event()
    arn = out["queue_arn"] if queue == "queue_url" else dlq_arn(stack)
    sources = [
        SqsEventSource(
            stack.client("sqs", role),
            EventSource(
                queue_url=out[queue],
                queue_arn=arn,
                batch_size=batch_size,
                wait_seconds=1,
                function_timeout=float(out["function_timeout_seconds"]),
                visibility_timeout=visibility_timeout,
            ),
            handler,
        )
        for handler in handlers
    ]
    threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in sources]
    for t in threads:
        t.start()
    try:
        yield sources
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)


def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def ledger(stack: Stack, bucket: str, key: str) -> dict[str, Any] | None:
    """The ledger record of an object (moto's events carry no version: ``#null``)."""
    from ferry_dev.report import ledger_items

    lid = f"s3://{bucket}/{key}#null"
    return ledger_items(stack, [lid]).get(lid)


def orders_rows(stack: Stack, first_id: int, last_id: int) -> int:
    import psycopg

    with psycopg.connect(stack.postgres().dsn(tcp=False), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sales.orders WHERE order_id BETWEEN %s AND %s",
            (first_id, last_id),
        ).fetchone()
    assert row is not None
    return int(row[0])


def put(stack: Stack, key: str, body: bytes) -> None:
    stack.client("s3").put_object(
        Bucket=stack.outputs["bucket_names"]["raw"],
        Key=key,
        Body=body,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=stack.outputs["kms_key_arns"]["storage"],
    )


def orders_dataset(stack: Stack) -> dict[str, Any]:
    config = json.loads(stack.config_path.read_text())
    return config["datasets"]["orders"]


def queue_total(stack: Stack, key: str = "queue_url") -> int:
    from ferry_dev.report import queue_depth

    visible, hidden = queue_depth(stack.client("sqs"), stack.outputs[key])
    return visible + hidden


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}
