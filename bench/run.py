"""CSV -> PostgreSQL benchmark: ferry's loader against ``psql \\copy`` and pandas.to_sql.

    python bench/run.py [--rows 1000000] [--runs 3] [--pandas-rows 100000]

Starts a throwaway PostgreSQL (ferry_dev.services.PostgresServer), creates the
orders table with the migration, generates the seeded clean and dirty files
(bench/data/, reused when present), then runs every contender ``--runs`` times,
interleaved, each in its own child process over TCP loopback with
sslmode=verify-full, truncating the tables before each run. Reports medians:
seconds (wall clock of the child process, start-up included), rows/s, MB/s,
peak RSS of the child (``os.wait4``), and the ratio to ``psql \\copy``.
pandas runs on the first ``--pandas-rows`` rows and is extrapolated linearly
to the full file (labelled so). Results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate  # noqa: E402

COLUMNS = "order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date"


class Spawner:
    """Children are forked by bench/spawn.py (small), so their peak RSS is their own."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-S", str(REPO / "bench" / "spawn.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, cmd: list[str]) -> tuple[float, int, str]:
        """Wall seconds, peak RSS (bytes) and stdout of one child process."""
        assert self.proc.stdin
        assert self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        result = json.loads(self.proc.stdout.readline())
        if result["rc"] != 0:
            raise RuntimeError(f"{cmd[:3]} failed ({result['rc']}): {result['stderr']}")
        return result["seconds"], result["maxrss_kib"] * 1024, result["stdout"]

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pandas-rows", type=int, default=100_000)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-dirty", action="store_true")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = str(REPO / "lambda_src")
    spawner = Spawner()  # before the heavy imports: its forks start small

    import psycopg

    from ferry.csvload import parse_datasets
    from ferry.csvload.migrate import migrate
    from ferry_dev.services import PostgresServer

    data = REPO / "bench" / "data"
    clean = generate(data / f"orders-{args.rows}-clean.csv", args.rows)
    dirty = (
        None
        if args.no_dirty
        else generate(data / f"orders-{args.rows}-dirty.csv", args.rows, dirty=True)
    )
    config = json.loads((REPO / "lambda_src/config/ferry.json").read_text())
    dataset = parse_datasets(config["datasets"])["orders"]

    results: dict[str, list[tuple[float, int]]] = {}
    notes: dict[str, str] = {}
    with PostgresServer() as server:
        dsn = server.dsn(sslmode="verify-full")
        with psycopg.connect(server.dsn(tcp=False), autocommit=True) as admin:
            migrate(admin, [dataset])

            def truncate() -> None:
                admin.execute("TRUNCATE sales.orders, ferry.loads")
                admin.execute("CHECKPOINT")

            contenders: list[tuple[str, list[str], int]] = [
                (
                    "psql \\copy",
                    [
                        "psql",
                        dsn,
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-c",
                        f"\\copy sales.orders ({COLUMNS}) from '{clean}'"
                        " with (format csv, header true)",
                    ],
                    args.rows,
                ),
                (
                    "ferry",
                    [sys.executable, str(REPO / "bench/contender.py"), "ferry", str(clean), dsn],
                    args.rows,
                ),
            ]
            if dirty is not None:
                contenders.append(
                    (
                        "ferry (dirty file)",
                        [
                            sys.executable,
                            str(REPO / "bench/contender.py"),
                            "ferry-lenient",
                            str(dirty),
                            dsn,
                        ],
                        args.rows,
                    )
                )
            if not args.no_pandas:
                n = min(args.pandas_rows, args.rows)
                contenders.append(
                    (
                        "pandas.to_sql",
                        [
                            sys.executable,
                            str(REPO / "bench/contender.py"),
                            "pandas",
                            str(clean),
                            dsn,
                            str(n),
                        ],
                        n,
                    )
                )
            for run in range(args.runs):
                for name, cmd, rows in contenders:
                    truncate()
                    seconds, rss, out = spawner.run(cmd)
                    if name.startswith("ferry"):
                        info = json.loads(out.strip().splitlines()[-1])
                        if info["status"] != "loaded":
                            raise RuntimeError(f"{name}: {info}")
                        notes[name] = (
                            f"{info['rows']} rows loaded, {info['rejected']} rejected, "
                            f"{info['passes']} pass(es), read buffer <= {info['max_buffer']} bytes"
                        )
                    loaded = admin.execute("SELECT count(*) FROM sales.orders").fetchone()[0]
                    if name in {"ferry", "psql \\copy"} and loaded != args.rows:
                        raise RuntimeError(f"{name} loaded {loaded} rows, expected {args.rows}")
                    results.setdefault(name, []).append((seconds * args.rows / rows, rss))
                    print(
                        f"run {run + 1}/{args.runs} {name:<20} {seconds:7.2f} s"
                        f"  {rss / 2**20:6.1f} MiB",
                        flush=True,
                    )
    spawner.close()
    size = clean.stat().st_size
    ref = statistics.median(s for s, _ in results["psql \\copy"])
    lines = [
        f"rows={args.rows} file={size / 1e6:.1f} MB runs={args.runs}"
        " (medians; TCP loopback, verify-full TLS)",
        "",
        "| contender | seconds | rows/s | MB/s | peak RSS MiB | × psql \\copy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, samples in results.items():
        secs = statistics.median(s for s, _ in samples)
        rss = statistics.median(r for _, r in samples)
        label = name
        if name == "pandas.to_sql" and args.pandas_rows < args.rows:
            label += f" (first {args.pandas_rows} rows, extrapolated)"
        lines.append(
            f"| {label} | {secs:.2f} | {args.rows / secs:,.0f} | {size / 1e6 / secs:.1f} | "
            f"{rss / 2**20:.0f} | {secs / ref:.2f} |"
        )
    lines += ["", *(f"{k}: {v}" for k, v in notes.items())]
    report = "\n".join(lines)
    print("\n" + report)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"csvload-{args.rows}-{stamp}.md").write_text(report + "\n")
    (out_dir / f"csvload-{args.rows}-{stamp}.json").write_text(
        json.dumps({k: v for k, v in results.items()}, indent=1)
    )


if __name__ == "__main__":
    main()
