"""A small ferry deployment on the moto server: buckets, tables, a runtime."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from ferry import obs
from ferry.aws import S3, DynamoDB
from ferry.config import Config, load_config
from ferry.flow import handle
from ferry.ledger import Ledger
from ferry.model import ObjectRef
from ferry.runtime import Runtime
from ferry.settings import SOURCE_CONFIG, Settings
from ferry_dev.services import MotoServer
from tests.conftest import REGION

FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 11, 24, 4, 30, tzinfo=dt.UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="session")
def default_config() -> Config:
    return load_config(SOURCE_CONFIG)


class FakeContext:
    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.aws_request_id = f"req-{uuid.uuid4()}"
        self.remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining


@dataclasses.dataclass
class Stack:
    """Raw/processed/failed buckets and ledger/records/metadata tables on moto."""

    aws: Callable[[str], Any]
    runtime: Runtime
    raw: str
    processed: str
    failed: str
    records: str
    metadata: str

    @property
    def s3(self) -> Any:
        return self.runtime.s3.client

    @property
    def ddb(self) -> Any:
        return self.runtime.dynamodb.client

    def put(self, key: str, body: bytes, **kwargs: Any) -> ObjectRef:
        r = self.s3.put_object(Bucket=self.raw, Key=key, Body=body, **kwargs)
        return ObjectRef(
            bucket=self.raw,
            key=key,
            version_id=r.get("VersionId"),
            size=len(body),
            etag=r["ETag"].strip('"'),
            event_time="2026-11-24T04:29:00.000Z",
            message_id=f"msg-{uuid.uuid4()}",
        )

    def event(self, *refs: ObjectRef) -> dict[str, Any]:
        """An SQS batch: one S3 notification per message, keys URL-encoded as S3 does."""
        from urllib.parse import quote_plus

        records = []
        for ref in refs:
            notification = {
                "Records": [
                    {
                        "eventVersion": "2.1",
                        "eventSource": "aws:s3",
                        "awsRegion": "eu-west-1",
                        "eventTime": ref.event_time,
                        "eventName": "ObjectCreated:Put",
                        "s3": {
                            "s3SchemaVersion": "1.0",
                            "bucket": {"name": ref.bucket, "arn": f"arn:aws:s3:::{ref.bucket}"},
                            "object": {
                                "key": quote_plus(ref.key, safe="/"),
                                "size": ref.size,
                                "eTag": ref.etag,
                                "versionId": ref.version_id,
                                "sequencer": "0065FA186CC08E810D",
                            },
                        },
                    }
                ]
            }
            records.append(
                {
                    "messageId": ref.message_id,
                    "receiptHandle": "handle",
                    "body": json.dumps(notification),
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:ferry-test",
                    "awsRegion": "eu-west-1",
                }
            )
        return {"Records": records}

    def run(self, event: dict[str, Any], remaining_ms: int = 60_000) -> dict[str, Any]:
        return handle(event, FakeContext(remaining_ms), self.runtime)

    def ledger(self, ref: ObjectRef) -> dict[str, Any] | None:
        return self.runtime.ledger.get(ref.ledger_id)

    def failed_keys(self) -> list[str]:
        r = self.s3.list_objects_v2(Bucket=self.failed)
        return sorted(o["Key"] for o in r.get("Contents", []))

    def failed_sidecar(self, key: str) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=self.failed, Key=key + ".error.json")["Body"].read()
        return json.loads(body)

    def scan(self, table: str) -> list[dict[str, Any]]:
        items = self.ddb.scan(TableName=table)["Items"]
        return [self.runtime.dynamodb.deserialize(i) for i in items]


def make_tables_and_buckets(aws: Callable[[str], Any], stack_names: dict[str, str]) -> None:
    s3 = aws("s3")
    for name in (stack_names["raw"], stack_names["processed"], stack_names["failed"]):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(
        Bucket=stack_names["raw"], VersioningConfiguration={"Status": "Enabled"}
    )
    ddb = aws("dynamodb")
    tables = {
        stack_names["ledger"]: [("ledger_id", "HASH")],
        stack_names["records"]: [("device_id", "HASH"), ("timestamp", "RANGE")],
        stack_names["metadata"]: [("documentId", "HASH")],
    }
    for table, keys in tables.items():
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": n, "KeyType": t} for n, t in keys],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )


@pytest.fixture(scope="session")
def moto_clients(moto_server: MotoServer) -> Callable[[str], Any]:
    """boto3 clients on the moto server, made once per session (creating one is slow)."""
    session = boto3.session.Session(region_name=REGION)
    clients: dict[str, Any] = {}

    def aws(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=moto_server.endpoint_url)
        return clients[service]

    return aws


@pytest.fixture
def stack(moto_clients: Callable[[str], Any], default_config: Config) -> Stack:
    """Fresh, uniquely named buckets and tables on the shared moto server.

    Unique names isolate tests without resetting the server: a reset makes moto
    rebuild its backends (over a second per test), names cost nothing.
    """
    suffix = uuid.uuid4().hex[:10]
    names = {
        "raw": f"ferry-raw-{suffix}",
        "processed": f"ferry-processed-{suffix}",
        "failed": f"ferry-failed-{suffix}",
        "ledger": f"ferry-ledger-{suffix}",
        "records": f"ferry-records-{suffix}",
        "metadata": f"ferry-metadata-{suffix}",
    }
    aws = moto_clients
    make_tables_and_buckets(aws, names)
    settings = Settings(
        ledger_table=names["ledger"],
        records_table=names["records"],
        metadata_table=names["metadata"],
        processed_bucket=names["processed"],
        failed_bucket=names["failed"],
        ledger_ttl_days=30,
    )
    config = dataclasses.replace(
        default_config,
        limits=dataclasses.replace(
            default_config.limits, batch_write_base_delay_ms=1, batch_write_max_delay_ms=2
        ),
    )
    dynamodb = DynamoDB(aws("dynamodb"), sleep=lambda _s: None)
    runtime = Runtime(
        settings=settings,
        config=config,
        s3=S3(aws("s3")),
        dynamodb=dynamodb,
        ledger=Ledger(names["ledger"], dynamodb, ttl_days=30, clock=lambda: NOW),
        metrics=obs.Metrics("FerryTest", "ferry-test"),
        clock=lambda: NOW,
    )
    return Stack(
        aws=aws,
        runtime=runtime,
        raw=names["raw"],
        processed=names["processed"],
        failed=names["failed"],
        records=names["records"],
        metadata=names["metadata"],
    )
