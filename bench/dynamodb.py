"""JSON Lines -> DynamoDB: ferry's writer against boto3's own ``batch_writer``, same run.

    python bench/dynamodb.py [--mib 64] [--runs 3] [--workers 1,4,8] [--null]

Generates, once and seeded, JSON Lines telemetry of ``--mib`` MiB in bench/data/
(bench/json_records.py's generator: ~250-byte records, nested metrics, some
non-ASCII text), starts the emulator (``ferry_dev.services.MotoServer``) and
runs, interleaved, ``--runs`` times, each in its own child process forked by
bench/spawn.py (peak RSS is the child's own):

* ``boto3 batch_writer``: ``Table.batch_writer(overwrite_by_pkeys=[...])``, one
  ``put_item`` per line decoded with ``json.loads(parse_float=Decimal)``;
* ``ferry (workers=N)``: what ``json_records`` does when it writes: the file read
  through ``read(n)`` (as an S3 body) and cut into records by
  ``ferry.jsonstream``, the attributes ferry adds, ``ferry.aws.DynamoDB.batch_write``
  with ``N`` calls in flight.

Each child writes into a fresh table; the parent checks the table's item count.
BatchWriteItem calls are counted with botocore's ``before-call`` event (HTTP
attempts, retries included, with ``before-send``). On the emulator this measures
the client's cost and its calls, not DynamoDB's latency. ``--null`` answers
every BatchWriteItem in the client itself (nothing sent): the client's own cost
and memory for files too big for the emulator (``--mib 1024``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))

KEY = ("device_id", "timestamp")
REGION = "eu-west-1"


def _client(endpoint: str) -> Any:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    if endpoint == "null":
        return session.client("dynamodb", endpoint_url="http://127.0.0.1:9")
    return session.client("dynamodb", endpoint_url=endpoint)


def _count_calls(client: Any, null: bool) -> dict[str, int]:
    counts = {"calls": 0, "http": 0}

    def on_call(**_: Any) -> Any:
        counts["calls"] += 1
        if null:  # answer here: nothing is sent
            http = type("Http", (), {"status_code": 200, "headers": {}})()
            return http, {"UnprocessedItems": {}}
        return None

    def on_send(**_: Any) -> None:
        counts["http"] += 1

    client.meta.events.register("before-call.dynamodb.BatchWriteItem", on_call)
    client.meta.events.register("before-send.dynamodb.BatchWriteItem", on_send)
    return counts


def child(kind: str, path: str, endpoint: str, table: str, workers: int) -> dict[str, Any]:
    null = endpoint == "null"
    start = time.perf_counter()
    client = _client(endpoint)
    counts = _count_calls(client, null)
    records = 0
    if kind == "boto3":
        from decimal import Decimal

        import boto3

        resource = boto3.resource(
            "dynamodb",
            endpoint_url=None if null else endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        resource.meta.client = client
        with (
            open(path, "rb") as f,
            resource.Table(table).batch_writer(overwrite_by_pkeys=list(KEY)) as writer,
        ):
            for line in f:
                if line.strip():
                    writer.put_item(Item=json.loads(line, parse_float=Decimal))
                    records += 1
    else:
        from ferry.aws import DynamoDB
        from ferry.jsonstream import records as stream_records

        added = {"ingested_from": "s3://raw/bench.jsonl#v1", "ingested_at": "2026-11-24T00:00:00Z"}
        with open(path, "rb") as f:

            def items() -> Any:
                nonlocal records
                for _location, record in stream_records(
                    f.read, fmt="lines", max_depth=64, max_record_chars=1 << 20
                ):
                    records += 1
                    yield {**record, **added}

            DynamoDB(client).batch_write(table, items(), key=KEY, workers=workers)
    return {"records": records, "seconds": time.perf_counter() - start, **counts}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, path, endpoint, table, workers = sys.argv[2:7]
        print(json.dumps(child(kind, path, endpoint, table, int(workers))))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,4,8")
    parser.add_argument("--null", action="store_true", help="answer in the client (no emulator)")
    parser.add_argument("--no-boto3", action="store_true", help="ferry only (long memory runs)")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(REPO / "lambda_src")
    from run import Spawner

    spawner = Spawner()

    from json_records import DATA, generate

    path = DATA / f"telemetry-{args.mib}mib.jsonl"
    generate(path, args.mib * 2**20)
    size = path.stat().st_size
    contenders = [] if args.no_boto3 else [("boto3 batch_writer", "boto3", 1)]
    contenders += [(f"ferry (workers={w})", "ferry", int(w)) for w in args.workers.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    moto = None
    if args.null:
        endpoint = "null"
    else:
        from ferry_dev.services import MotoServer

        moto = MotoServer().start()
        endpoint = moto.endpoint_url
    try:
        admin = None if args.null else _client(endpoint)
        for run in range(args.runs):
            for name, kind, workers in contenders:
                table = f"bench-{uuid.uuid4().hex[:8]}"
                if admin is not None:
                    admin.create_table(
                        TableName=table,
                        KeySchema=[
                            {"AttributeName": KEY[0], "KeyType": "HASH"},
                            {"AttributeName": KEY[1], "KeyType": "RANGE"},
                        ],
                        AttributeDefinitions=[
                            {"AttributeName": k, "AttributeType": "S"} for k in KEY
                        ],
                        BillingMode="PAY_PER_REQUEST",
                    )
                cmd = [sys.executable, __file__, "--child", kind, str(path), endpoint, table]
                wall, rss, out = spawner.run([*cmd, str(workers)])
                info = json.loads(out.strip().splitlines()[-1])
                info.update(wall=wall, rss=rss)
                if admin is not None:
                    items = 0
                    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
                    while True:
                        page = admin.scan(**kwargs)
                        items += page["Count"]
                        if "LastEvaluatedKey" not in page:
                            break
                        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
                    info["items"] = items
                    admin.delete_table(TableName=table)
                results.setdefault(name, []).append(info)
                print(
                    f"run {run + 1}/{args.runs} {name:<20} {info['seconds']:7.2f} s"
                    f"  {info['calls']} calls  {rss / 2**20:6.1f} MiB",
                    flush=True,
                )
    finally:
        spawner.close()
        if moto is not None:
            moto.stop()
    report(args, path, size, results)


def report(args: Any, path: Path, size: int, results: dict[str, list[dict[str, Any]]]) -> None:
    load = os.getloadavg()
    records = next(iter(results.values()))[0]["records"]
    floor = math.ceil(records / 25)
    boto3_runs = results.get("boto3 batch_writer")
    ref = statistics.median(r["seconds"] for r in boto3_runs) if boto3_runs else math.nan
    lines = [
        f"{path.name}: {size / 2**20:.0f} MiB, {records:,} records, runs={args.runs}"
        f" ({'answered in the client' if args.null else 'moto server'}; medians);"
        f" load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        "",
        "| writer | records/s | s | BatchWriteItem calls | calls / ceil(n/25) | HTTP requests"
        " | items in table | peak RSS MiB | × boto3 records/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        secs = statistics.median(r["seconds"] for r in runs)
        calls = statistics.median(r["calls"] for r in runs)
        http = statistics.median(r["http"] for r in runs)
        rss = statistics.median(r["rss"] for r in runs)
        items = "—" if args.null else f"{min(r['items'] for r in runs):,}"
        lines.append(
            f"| {name} | {records / secs:,.0f} | {secs:.1f} | {calls:,.0f} | {calls / floor:.3f}"
            f" | {http:,.0f} | {items} | {rss / 2**20:.0f} | {ref / secs:.2f} |".replace("nan", "—")
        )
    text = "\n".join(lines)
    print("\n" + text)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (out / f"dynamodb-{args.mib}mib-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
