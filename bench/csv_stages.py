"""Where the CSV loader's time goes: each stage timed on its own, same file, same process.

    python bench/csv_stages.py [--rows 1000000] [--dirty] [--profile]

Stages, each cumulative over the previous one (seconds of wall clock, best of
``--repeat``): ``read`` (``RecordReader`` cutting the file into record-aligned
chunks), ``decode`` (+ UTF-8 decode of every chunk), ``validate``
(+ ``RowValidator.validate``, the bulk regular expression), ``copy``
(``Loader.load`` as a whole: validation, COPY over TLS, the load record), and
``psql \\copy`` of the same file for reference. ``--profile`` prints the top
of a cProfile of ``Loader.load``. Needs a throwaway PostgreSQL (started here).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import os
import pstats
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate  # noqa: E402

from ferry.csvload import Loader, Source, parse_datasets  # noqa: E402
from ferry.csvload.config import Dataset, RejectThreshold  # noqa: E402
from ferry.csvload.reader import RecordReader  # noqa: E402
from ferry.csvload.validate import KeySet, RowValidator, map_header, parse_header  # noqa: E402

COLUMNS = "order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date"


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def stages(path: Path, dataset: Dataset, dsn: str, admin: object, repeat: int) -> dict[str, float]:
    def reader() -> RecordReader:
        f = open(path, "rb")  # noqa: SIM115
        return RecordReader(f.read, max_record_bytes=dataset.max_record_bytes)

    def read_only() -> None:
        r = reader()
        r.header()
        for _ in r.chunks(b"\r\n"):
            pass

    def decode() -> None:
        r = reader()
        r.header()
        for c in r.chunks(b"\r\n"):
            c.data.decode("utf-8", "surrogateescape")

    def validate() -> None:
        r = reader()
        header, eol = r.header()
        v = RowValidator(dataset, map_header(dataset, parse_header(header, ",")), eol.decode())
        seen = KeySet()  # the loader tracks keys in its one pass
        for c in r.chunks(eol):
            v.validate(c.data, c.first_line, seen)

    import psycopg

    def truncate() -> None:
        admin.execute("TRUNCATE sales.orders, ferry.loads")  # type: ignore[attr-defined]

    def load() -> None:
        truncate()
        with psycopg.connect(dsn, autocommit=True) as conn, open(path, "rb") as f:
            opened = [f]

            def open_stream() -> Callable[[int], bytes]:
                opened.append(open(path, "rb"))  # noqa: SIM115
                return opened[-1].read

            source = Source("b", path.name, uuid.uuid4().hex)
            result = Loader(dataset).load(conn, source, open_stream)
            for g in opened[1:]:
                g.close()
            assert result.status == "loaded", result.reason

    def psql() -> None:
        truncate()
        subprocess.run(
            [
                "psql",
                dsn,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                f"\\copy sales.orders ({COLUMNS}) from '{path}' with (format csv, header true)",
            ],
            check=True,
        )

    out = {
        "read": best(read_only, repeat),
        "decode": best(decode, repeat),
        "validate": best(validate, repeat),
    }
    out["load"] = best(load, repeat)
    if "dirty" not in path.name:  # psql stops at the first bad row
        out["psql \\copy"] = best(psql, repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dirty", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import psycopg

    from ferry.csvload.migrate import migrate
    from ferry_dev.services import PostgresServer

    kind = "dirty" if args.dirty else "clean"
    path = generate(
        REPO / "bench" / "data" / f"orders-{args.rows}-{kind}.csv", args.rows, dirty=args.dirty
    )
    config = json.loads((REPO / "lambda_src/config/ferry.json").read_text())
    dataset = parse_datasets(config["datasets"])["orders"]
    dataset = dataclasses.replace(dataset, threshold=RejectThreshold(None, 0.01))
    with PostgresServer() as server:
        dsn = server.dsn(sslmode="verify-full")
        with psycopg.connect(server.dsn(tcp=False), autocommit=True) as admin:
            migrate(admin, [dataset])
            if args.profile:
                admin.execute("TRUNCATE sales.orders, ferry.loads")
                prof = cProfile.Profile()
                with psycopg.connect(dsn, autocommit=True) as conn:

                    def open_stream() -> Callable[[int], bytes]:
                        return open(path, "rb").read

                    prof.enable()
                    Loader(dataset).load(conn, Source("b", path.name, "v"), open_stream)
                    prof.disable()
                text = io.StringIO()
                pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(15)
                print(text.getvalue())
                return
            result = stages(path, dataset, dsn, admin, args.repeat)
    load = os.getloadavg()
    print(f"{kind} file, {args.rows} rows, best of {args.repeat}; load average {load[0]:.1f}")
    for name, secs in result.items():
        print(f"  {name:<12} {secs:6.2f} s")


if __name__ == "__main__":
    main()
