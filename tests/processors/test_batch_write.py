"""DynamoDB.batch_write against a stubbed client: calls, UnprocessedItems, backoff, workers."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ferry.aws import DynamoDB
from ferry.model import Transient


class StubClient:
    """BatchWriteItem / PutItem in memory; ``unprocessed(call, requests)`` hands some back."""

    def __init__(self, unprocessed: Any = None, refuse: str | None = None, jitter: bool = False):
        self.unprocessed = unprocessed or (lambda _call, _requests: [])
        self.refuse = refuse  # an item whose "n" is this makes the batch invalid
        self.jitter = jitter
        self.calls: list[int] = []  # items per BatchWriteItem call
        self.threads: set[str] = set()
        self.table: dict[str, Any] = {}
        self.lock = threading.Lock()

    def _store(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.table[item["device_id"]["S"]] = item

    def _refused(self, items: list[dict[str, Any]]) -> bool:
        return any(item.get("n", {}).get("N") == self.refuse for item in items)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        with self.lock:
            self.calls.append(len(requests))
            call = len(self.calls)
            self.threads.add(threading.current_thread().name)
        if self.jitter:  # vary the order in which concurrent calls land
            time.sleep(random.random() / 1000)
        items = [r["PutRequest"]["Item"] for r in requests]
        if self._refused(items):
            raise ClientError(
                {
                    "Error": {"Code": "ValidationException", "Message": "item too large"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "BatchWriteItem",
            )
        back = self.unprocessed(call, requests)
        for r in requests:
            if r not in back:
                self._store(r["PutRequest"]["Item"])
        return {"UnprocessedItems": {table: back} if back else {}}

    def put_item(self, TableName: str, Item: dict[str, Any]) -> dict[str, Any]:
        if self._refused([Item]):
            raise ClientError(
                {
                    "Error": {"Code": "ValidationException", "Message": "item too large"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "PutItem",
            )
        self._store(Item)
        return {}


def items(n: int, key: str = "d{i}") -> list[dict[str, Any]]:
    return [{"device_id": key.format(i=i), "timestamp": "t", "n": i} for i in range(n)]


@pytest.mark.parametrize("workers", [1, 4])
def test_one_call_per_25_items(workers: int) -> None:
    stub = StubClient()
    written = DynamoDB(stub).batch_write(
        "t", iter(items(1001)), key=("device_id",), workers=workers
    )
    assert written == 1001
    assert sorted(stub.calls) == [1] + [25] * 40  # ceil(1001 / 25) calls, full batches
    assert len(stub.table) == 1001


def test_unprocessed_items_are_retried_with_full_jitter_backoff() -> None:
    sleeps: list[float] = []
    # the first three calls hand back all but the first item, then everything is taken
    stub = StubClient(unprocessed=lambda call, requests: requests[1:] if call <= 3 else [])
    random.seed(7)
    written = DynamoDB(stub, sleep=sleeps.append).batch_write(
        "t", items(25), max_attempts=8, base_delay_ms=100, max_delay_ms=250
    )
    assert written == 25
    assert stub.calls == [25, 24, 23, 22]  # only the unprocessed items are sent again
    assert len(stub.table) == 25
    assert len(sleeps) == 3
    # attempt n waits uniformly in [0, min(cap, base * 2^n)]: 0.1 s, 0.2 s, then the 0.25 s cap
    for sleep, bound in zip(sleeps, (0.1, 0.2, 0.25), strict=True):
        assert 0 <= sleep <= bound
    assert len(set(sleeps)) == 3  # jitter: no two waits alike


def test_items_still_unprocessed_after_the_last_attempt_are_transient() -> None:
    sleeps: list[float] = []
    stub = StubClient(unprocessed=lambda _call, requests: requests)
    with pytest.raises(Transient, match="25 of 25 items still unprocessed after 5 attempts"):
        DynamoDB(stub, sleep=sleeps.append).batch_write("t", items(25), max_attempts=5)
    assert len(stub.calls) == 5
    assert len(sleeps) == 4


def test_workers_keep_the_last_record_of_a_key() -> None:
    """Batches in flight never share a key, so a later record always lands last."""
    records = [
        {"device_id": f"d{i % 300}", "timestamp": "t", "n": i}  # each key every 300 records
        for i in range(3000)
    ]
    stub = StubClient(jitter=True)
    written = DynamoDB(stub).batch_write("t", records, key=("device_id",), workers=4)
    assert written == 3000
    assert len(stub.calls) == 120
    assert len(stub.threads) > 1  # the calls really ran on several threads
    assert {k: v["n"]["N"] for k, v in stub.table.items()} == {
        f"d{k}": str(2700 + k) for k in range(300)
    }


def test_refused_items_are_reported_in_the_calling_thread() -> None:
    stub = StubClient(refuse="60")
    seen: list[tuple[int, str, str]] = []

    def on_refused(position: int, message: str) -> None:
        seen.append((position, message.split(":", maxsplit=1)[0], threading.current_thread().name))

    written = DynamoDB(stub).batch_write(
        "t", items(100), key=("device_id",), on_refused=on_refused, workers=3
    )
    assert written == 99
    assert seen == [(60, "PutItem t", threading.current_thread().name)]
    assert len(stub.table) == 99


def test_clients_share_the_service_model_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold start makes two clients; the second does not parse botocore's models again."""
    from ferry import aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    first, second = aws.client("dynamodb"), aws.client("s3")
    assert first._loader is second._loader
    assert first.meta.config.retries["mode"] == "standard"
