"""The large-file lane: a generated CSV of GB gigabytes through ``python -m ferry.task``.

    python bench/container_lane.py [--gb 0.25] [--runs 1]

Starts a throwaway PostgreSQL and a moto server (S3 and DynamoDB stand in for
AWS), generates the seeded clean orders file (bench/generate.py, in
bench/data/, reused), uploads it to the emulator's raw bucket, and then, per
run, interleaved, each in its own child process (bench/spawn.py, peak RSS from
``os.wait4``):

* ``psql \\copy`` of the same local file (the reference, no validation);
* ``ferry.task`` on the whole object: the container's entry point, exactly as
  the state machine runs it (environment, ledger claim, S3 stream from the
  emulator, validation, COPY with the exactly-once load record, ledger finish;
  the database login injected as ECS injects it, FERRY_DB_SECRET);
* ``ferry.task`` on an eighth of the file (the first rows), to show peak RSS
  does not grow with the file.

Reports medians: seconds, rows/s, MB/s, peak RSS and the ratio to ``psql
\\copy``; writes the table to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate  # noqa: E402
from run import COLUMNS, Spawner  # noqa: E402

BYTES_PER_ROW = 100  # bench/generate.py's rows average about this (1,000,000 rows ~ 100 MB)


def _head(src: Path, dst: Path, rows: int) -> Path:
    """The header and the first ``rows`` rows of ``src`` (records may span lines: CSV-aware)."""
    import csv

    if dst.exists():
        return dst
    with src.open(newline="", encoding="utf-8") as f, dst.open("w", newline="") as out:
        reader, writer = csv.reader(f), csv.writer(out, lineterminator="\n")
        for n, record in enumerate(reader):
            if n > rows:
                break
            writer.writerow(record)
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gb", type=float, default=0.25, help="file size in GB (10^9 bytes)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(REPO / "lambda_src")
    spawner = Spawner()  # before the heavy imports: its forks start small

    import boto3
    import psycopg

    from ferry.csvload import parse_datasets
    from ferry.csvload.migrate import migrate
    from ferry_dev.services import MotoServer, PostgresServer

    rows = max(1000, int(args.gb * 1e9 / BYTES_PER_ROW))
    data = REPO / "bench" / "data"
    full = generate(data / f"orders-{rows}-clean.csv", rows)
    eighth_rows = rows // 8
    eighth = _head(full, data / f"orders-{rows}-first-{eighth_rows}.csv", eighth_rows)
    config_path = REPO / "lambda_src" / "config" / "ferry.json"
    config = json.loads(config_path.read_text())
    dataset = parse_datasets(config["datasets"])["orders"]

    aws_env = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ.update(aws_env)
    results: dict[str, list[tuple[float, int, int]]] = {}
    moto = MotoServer().start()
    try:
        with PostgresServer() as server:
            s3 = boto3.client("s3", endpoint_url=moto.endpoint_url)
            ddb = boto3.client("dynamodb", endpoint_url=moto.endpoint_url)
            for bucket in ("bench-raw", "bench-failed"):
                s3.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
                )
            ddb.create_table(
                TableName="bench-ledger",
                KeySchema=[{"AttributeName": "ledger_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "ledger_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            objects = {"full": ("incoming/orders/bench-full.csv", full, rows)}
            objects["eighth"] = ("incoming/orders/bench-eighth.csv", eighth, eighth_rows)
            for key, path, _ in objects.values():
                print(f"uploading {path.stat().st_size / 1e9:.2f} GB to s3://bench-raw/{key}")
                s3.upload_file(str(path), "bench-raw", key)

            assert server.tls_files is not None
            task_env = {
                **aws_env,
                "AWS_ENDPOINT_URL": moto.endpoint_url,
                "PYTHONPATH": str(REPO / "lambda_src"),
                "FERRY_CONFIG_PATH": str(config_path),
                "FERRY_LEDGER_TABLE": "bench-ledger",
                "FERRY_FAILED_BUCKET": "bench-failed",
                "FERRY_DB_HOST": "localhost",
                "FERRY_DB_HOSTADDR": "127.0.0.1",
                "FERRY_DB_PORT": str(server.port),
                "FERRY_DB_NAME": server.database,
                "FERRY_DB_SECRET": json.dumps(
                    {"username": server.user, "password": server.password}
                ),
                "FERRY_DB_SSLROOTCERT": str(server.tls_files.ca_cert),
                "FERRY_LOG_LEVEL": "WARNING",
                "FERRY_TASK_TIMEOUT_SECONDS": "86400",
            }
            dsn = server.dsn(sslmode="verify-full")
            with psycopg.connect(server.dsn(tcp=False), autocommit=True) as admin:
                migrate(admin, [dataset])

                def reset() -> None:
                    admin.execute("TRUNCATE sales.orders, ferry.loads")
                    admin.execute("CHECKPOINT")
                    for key, _, _ in objects.values():
                        ddb.delete_item(
                            TableName="bench-ledger",
                            Key={"ledger_id": {"S": f"s3://bench-raw/{key}#null"}},
                        )

                # The spawner's environment was fixed when it started: the task's goes
                # through env(1) (the password is the throwaway server's).
                python = ["env", *(f"{k}={v}" for k, v in task_env.items()), sys.executable]

                contenders = [
                    (
                        "psql \\copy",
                        [
                            "psql",
                            dsn,
                            "-v",
                            "ON_ERROR_STOP=1",
                            "-c",
                            f"\\copy sales.orders ({COLUMNS}) from '{full}'"
                            " with (format csv, header true)",
                        ],
                        rows,
                    ),
                ]
                for label, name in (
                    ("ferry.task", "full"),
                    ("ferry.task, 1/8 of the file", "eighth"),
                ):
                    key, _, n = objects[name]
                    cmd = [
                        *python,
                        "-m",
                        "ferry.task",
                        "--bucket",
                        "bench-raw",
                        "--key",
                        key,
                        "--owner",
                        "bench",
                    ]
                    contenders.append((label, cmd, n))
                for run in range(args.runs):
                    for label, cmd, n in contenders:
                        reset()
                        seconds, rss, _ = spawner.run(cmd)
                        if label != "psql \\copy":
                            item = ddb.get_item(
                                TableName="bench-ledger",
                                Key={"ledger_id": {"S": f"s3://bench-raw/{cmd[-3]}#null"}},
                            ).get("Item", {})
                            status = item.get("status", {}).get("S")
                            if status != "loaded":
                                raise RuntimeError(f"{label}: ledger says {status}: {item}")
                        loaded = admin.execute("SELECT count(*) FROM sales.orders").fetchone()[0]
                        if loaded != n:
                            raise RuntimeError(f"{label} loaded {loaded} rows, expected {n}")
                        results.setdefault(label, []).append((seconds, rss, n))
                        print(
                            f"run {run + 1}/{args.runs} {label:<28} {seconds:8.2f} s"
                            f"  {rss / 2**20:6.1f} MiB",
                            flush=True,
                        )
    finally:
        moto.stop()
        spawner.close()

    size = full.stat().st_size
    ref = statistics.median(s for s, _, _ in results["psql \\copy"])
    ref_rate = rows / ref
    lines = [
        f"rows={rows:,} file={size / 1e9:.2f} GB runs={args.runs}"
        " (medians; S3 and DynamoDB on the emulator, PostgreSQL over TCP loopback, verify-full)",
        "",
        "| contender | rows | seconds | rows/s | MB/s | peak RSS MiB | rows/s ÷ psql \\copy's |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, samples in results.items():
        secs = statistics.median(s for s, _, _ in samples)
        rss = statistics.median(r for _, r, _ in samples)
        n = samples[0][2]
        mb = size * n / rows / 1e6
        lines.append(
            f"| {label} | {n:,} | {secs:.1f} | {n / secs:,.0f} | {mb / secs:.1f} | "
            f"{rss / 2**20:.0f} | {n / secs / ref_rate:.2f} |"
        )
    rss_full = statistics.median(r for _, r, _ in results["ferry.task"])
    rss_eighth = statistics.median(r for _, r, _ in results["ferry.task, 1/8 of the file"])
    lines += ["", f"peak RSS, whole file ÷ 1/8 of it: {rss_full / rss_eighth:.2f}"]
    report = "\n".join(lines)
    print("\n" + report)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"container-lane-{rows}-{stamp}.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
