"""CSV -> PostgreSQL benchmark: ferry's loader against ``psql \\copy`` and pandas.to_sql.

    python bench/run.py [--rows 1000000] [--runs 3] [--pandas-rows 100000]

Starts a throwaway PostgreSQL (ferry_dev.services.PostgresServer), creates the
orders table with the migration, generates the seeded clean and dirty files
(bench/data/, reused when present), then runs every contender ``--runs`` times,
interleaved, each in its own child process over TCP loopback with
sslmode=verify-full, truncating the tables before each run. Reports medians:
seconds (wall clock of the child process, start-up included), rows/s, MB/s,
peak RSS of the child (``os.wait4``), and the ratio to ``psql \\copy``; and CPU
seconds, the child's own (``os.wait4``) and its PostgreSQL backend's (the
postmaster's reaped children, :func:`reaped_cpu`), whose ratio does not depend
on what else the machine runs.
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate, numbered  # noqa: E402

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
        seconds, rss, out, _cpu = self.run_cpu(cmd)
        return seconds, rss, out

    def run_cpu(self, cmd: list[str]) -> tuple[float, int, str, float]:
        """Wall seconds, peak RSS (bytes), stdout and CPU seconds of one child process."""
        assert self.proc.stdin
        assert self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        result = json.loads(self.proc.stdout.readline())
        if result["rc"] != 0:
            raise RuntimeError(f"{cmd[:3]} failed ({result['rc']}): {result['stderr']}")
        return (
            result["seconds"],
            result["maxrss_kib"] * 1024,
            result["stdout"],
            result["cpu_seconds"],
        )

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def reaped_cpu(pid: int | None) -> float:
    """CPU seconds of the postmaster's exited children (its connections' backends).

    A backend's CPU is added to the postmaster's ``cutime``/``cstime`` when it exits
    and is reaped: read before and after a contender, the difference is the server
    CPU its connection used (Linux ``/proc``; 0 where unavailable).
    """
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pandas-rows", type=int, default=100_000)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-dirty", action="store_true")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also psycopg sending the file as the loader numbers it, with no validation",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C DIR`): its ferry runs too,"
        " on both files, labelled 'baseline'",
    )
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
    cpu: dict[str, list[tuple[float, float]]] = {}  # (client, server) CPU seconds
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
            if args.floor:
                floor = numbered(clean, clean.with_name(f"orders-{args.rows}-id-line.csv"), 7)
                cmd = [sys.executable, str(REPO / "bench/contender.py"), "floor", str(floor), dsn]
                contenders.append(("floor: psycopg COPY, no validation", cmd, args.rows))
            if args.baseline is not None:
                script = str(args.baseline.resolve() / "bench" / "contender.py")
                base = [sys.executable, script, "ferry", str(clean), dsn]
                contenders.append(("baseline ferry", base, args.rows))
                if dirty is not None:
                    contenders.append(
                        (
                            "baseline ferry (dirty file)",
                            [sys.executable, script, "ferry-lenient", str(dirty), dsn],
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
                    before = reaped_cpu(server.pid)
                    seconds, rss, out, client_cpu = spawner.run_cpu(cmd)
                    time.sleep(0.3)  # the backend exits after the client: let it be reaped
                    server_cpu = reaped_cpu(server.pid) - before
                    if "ferry" in name:
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
                    scale = args.rows / rows
                    cpu.setdefault(name, []).append((client_cpu * scale, server_cpu * scale))
                    print(
                        f"run {run + 1}/{args.runs} {name:<20} {seconds:7.2f} s"
                        f"  {rss / 2**20:6.1f} MiB  CPU {client_cpu:.2f} s client"
                        f" + {server_cpu:.2f} s server",
                        flush=True,
                    )
    spawner.close()
    size = clean.stat().st_size
    ref = statistics.median(s for s, _ in results["psql \\copy"])
    ref_cpu = statistics.median(c + v for c, v in cpu["psql \\copy"])
    load = os.getloadavg()
    lines = [
        f"rows={args.rows} file={size / 1e6:.1f} MB runs={args.runs}"
        " (medians; TCP loopback, verify-full TLS);"
        f" load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        "",
        "| contender | seconds | rows/s | MB/s | peak RSS MiB | × psql \\copy"
        " | CPU s client + server | CPU × psql |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, samples in results.items():
        secs = statistics.median(s for s, _ in samples)
        rss = statistics.median(r for _, r in samples)
        label = name
        if name == "pandas.to_sql" and args.pandas_rows < args.rows:
            label += f" (first {args.pandas_rows} rows, extrapolated)"
        client = statistics.median(c for c, _ in cpu[name])
        server_cpu = statistics.median(v for _, v in cpu[name])
        total = statistics.median(c + v for c, v in cpu[name])
        lines.append(
            f"| {label} | {secs:.2f} | {args.rows / secs:,.0f} | {size / 1e6 / secs:.1f} | "
            f"{rss / 2**20:.0f} | {secs / ref:.2f} | {client:.2f} + {server_cpu:.2f} | "
            f"{total / ref_cpu:.2f} |"
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
