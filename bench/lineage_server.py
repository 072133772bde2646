"""What the lineage columns cost PostgreSQL: the same rows through ``psql \\copy``, three ways.

    python bench/lineage_server.py [--rows 1000000] [--runs 7]

The client is psql in every case (its own CPU is ~0.1 s per million rows), so
the differences are the server's. The bench file's records are numbered once
by ferry's own code (``ferry.csvload.lineage.number``, as the loader does) and
written to ``bench/data/`` beside it, then loaded, interleaved, ``--runs``
times each, truncating the table before each load:

``none``
    the plain file, no lineage (the reference of ``make bench``);
``line, id by default``
    ``...,<line>``; ``_ferry_load_id`` left to its column default, which reads
    the session's ``ferry.load_id`` setting once per row;
``id and line in the data``
    ``...,<load id>,<line>``: what the loader sends.

Prints medians of wall seconds and of the backend's CPU seconds
(``run.reaped_cpu``), and the ratios to ``none``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate, numbered  # noqa: E402
from run import COLUMNS, reaped_cpu  # noqa: E402

from ferry.csvload import parse_datasets  # noqa: E402

LOAD_ID = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import psycopg

    from ferry.csvload.migrate import migrate
    from ferry_dev.services import PostgresServer

    data = REPO / "bench" / "data"
    clean = generate(data / f"orders-{args.rows}-clean.csv", args.rows)
    config = json.loads((REPO / "lambda_src/config/ferry.json").read_text())
    dataset = parse_datasets(config["datasets"])["orders"]
    line_only = numbered(clean, data / f"orders-{args.rows}-line.csv", None)
    with_id = numbered(clean, data / f"orders-{args.rows}-id-line.csv", LOAD_ID)
    set_id = f"SELECT set_config('ferry.load_id', '{LOAD_ID}', false)"
    variants = {
        "none": [f"\\copy sales.orders ({COLUMNS}) from '{clean}' with (format csv, header true)"],
        "line, id by default": [
            set_id,
            f"\\copy sales.orders ({COLUMNS}, _ferry_line) from '{line_only}' with (format csv)",
        ],
        "id and line in the data": [
            f"\\copy sales.orders ({COLUMNS}, _ferry_load_id, _ferry_line)"
            f" from '{with_id}' with (format csv)"
        ],
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with PostgresServer() as server:
        dsn = server.dsn(sslmode="verify-full")
        with psycopg.connect(server.dsn(tcp=False), autocommit=True) as admin:
            migrate(admin, [dataset])
            for run in range(args.runs):
                for name, commands in variants.items():
                    admin.execute("TRUNCATE sales.orders, ferry.loads")
                    admin.execute("CHECKPOINT")
                    cmd = ["psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
                    for command in commands:
                        cmd += ["-c", command]
                    before = reaped_cpu(server.pid)
                    start = time.perf_counter()
                    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                    seconds = time.perf_counter() - start
                    time.sleep(0.3)  # the backend exits after psql: let it be reaped
                    server_cpu = reaped_cpu(server.pid) - before
                    rows, lineage = admin.execute(
                        "SELECT count(*), count(_ferry_line) FROM sales.orders"
                    ).fetchone()
                    if rows != args.rows or lineage not in {0, args.rows}:
                        raise RuntimeError(f"{name}: {rows} rows, {lineage} with lineage")
                    samples[name].append((seconds, server_cpu))
                    print(
                        f"run {run + 1}/{args.runs} {name:<24} {seconds:6.2f} s"
                        f"  server CPU {server_cpu:.2f} s",
                        flush=True,
                    )
    load = os.getloadavg()
    ref = [statistics.median(s[i] for s in samples["none"]) for i in (0, 1)]
    print(
        f"\nrows={args.rows} runs={args.runs} (medians); load average"
        f" {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n\n"
        "| lineage | seconds | × none | server CPU s | × none |\n|---|---:|---:|---:|---:|"
    )
    for name, values in samples.items():
        secs, cpu = (statistics.median(v[i] for v in values) for i in (0, 1))
        print(f"| {name} | {secs:.2f} | {secs / ref[0]:.3f} | {cpu:.2f} | {cpu / ref[1]:.3f} |")


if __name__ == "__main__":
    main()
