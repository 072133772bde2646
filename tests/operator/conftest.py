"""A ferry deployment's operator-facing parts on the moto server: ledger (with its
status index), buckets and queues, and the ``ferry`` command wired to them."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from ferry.aws import DynamoDB
from ferry.cli import main
from ferry.ledger import STATUS_INDEX, Ledger
from ferry_dev.services import MotoServer
from tests.conftest import REGION

NOW = dt.datetime(2026, 11, 24, 4, 30, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def create_ledger_table(ddb: Any, name: str) -> None:
    """The ledger as modules/pipeline declares it: key ledger_id, index status-time."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "ledger_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"}
            for n in ("ledger_id", "status_day", "status_at")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": "status_day", "KeyType": "HASH"},
                    {"AttributeName": "status_at", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": [
                        "status",
                        "bucket",
                        "key",
                        "version_id",
                        "route",
                        "processor",
                        "reason",
                        "attempt",
                        "counts",
                        "first_seen_at",
                        "finished_at",
                    ],
                },
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Deployment:
    aws: Callable[[str], Any]
    names: dict[str, str]
    outputs: Path
    clock: Clock
    calls: list[str] = field(default_factory=list)

    def ledger(self) -> Ledger:
        return Ledger(self.names["ledger"], DynamoDB(self.aws("dynamodb")), clock=self.clock)

    def ferry(self, *argv: str) -> tuple[int, str, str]:
        """Run the command in-process: (exit code, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--outputs", str(self.outputs), *argv], clients=self.aws, clock=self.clock)
        return code, out.getvalue(), err.getvalue()

    def put(self, key: str, body: bytes) -> str:
        return str(
            self.aws("s3").put_object(Bucket=self.names["raw"], Key=key, Body=body)["VersionId"]
        )


@pytest.fixture(scope="session")
def moto_session_clients(moto_server: MotoServer) -> Callable[[str], Any]:
    session = boto3.session.Session(region_name=REGION)
    made: dict[str, Any] = {}

    def aws(service: str) -> Any:
        if service not in made:
            made[service] = session.client(service, endpoint_url=moto_server.endpoint_url)
        return made[service]

    return aws


@pytest.fixture
def deployment(
    moto_session_clients: Callable[[str], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    """Uniquely named tables, buckets and queues; an outputs file like the environments'."""
    suffix = uuid.uuid4().hex[:10]
    names = {
        "raw": f"ferry-raw-{suffix}",
        "processed": f"ferry-processed-{suffix}",
        "failed": f"ferry-failed-{suffix}",
        "ledger": f"ferry-ledger-{suffix}",
    }
    aws = moto_session_clients
    s3 = aws("s3")
    for role in ("raw", "processed", "failed"):
        s3.create_bucket(
            Bucket=names[role], CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    s3.put_bucket_versioning(Bucket=names["raw"], VersioningConfiguration={"Status": "Enabled"})
    create_ledger_table(aws("dynamodb"), names["ledger"])
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName=f"ferry-ingest-{suffix}")["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"ferry-ingest-dlq-{suffix}")["QueueUrl"]
    # The environments' shape: one `ferry` output holding the composition's outputs.
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "ferry": {
                    "sensitive": False,
                    "type": ["object", {}],
                    "value": {
                        "table_names": {"ledger": names["ledger"]},
                        "bucket_names": {
                            "raw": names["raw"],
                            "processed": names["processed"],
                            "failed": names["failed"],
                        },
                        "queue_url": queue,
                        "dlq_url": dlq,
                    },
                }
            }
        )
    )
    for variable in ("FERRY_OUTPUTS", "FERRY_LEDGER_TABLE", "FERRY_QUEUE_URL", "FERRY_DLQ_URL"):
        monkeypatch.delenv(variable, raising=False)
    names |= {"queue": queue, "dlq": dlq}
    return Deployment(aws, names, outputs, Clock())
