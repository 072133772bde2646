"""One benchmark contender, run in its own child process (so its peak RSS is its own).

    python bench/contender.py ferry  FILE DSN
    python bench/contender.py ferry-lenient FILE DSN    (row limit off, max_fraction 1%)
    python bench/contender.py pandas FILE DSN ROWS
    python bench/contender.py floor NUMBERED_FILE DSN

``ferry`` runs the real loader (``ferry.csvload.Loader.load``: header check,
bulk validation, COPY, exactly-once load record) reading the local file through
``read(n)``, the same call the Lambda makes on the S3 StreamingBody. ``pandas``
is the common alternative: ``pandas.read_csv`` + ``DataFrame.to_sql`` through
SQLAlchemy and psycopg, on the first ROWS rows. ``floor`` is the least any
Python client with ferry's lineage can do: psycopg sending a file already
numbered as the loader numbers it (``generate.numbered``) in 1 MiB writes, in
one transaction, with no validation. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))


def run_ferry(path: str, dsn: str, *, lenient: bool = False) -> dict[str, object]:
    import dataclasses

    import psycopg

    from ferry.csvload import Loader, Source, parse_datasets
    from ferry.csvload.config import RejectThreshold

    config = json.loads((REPO / "lambda_src/config/ferry.json").read_text())
    dataset = parse_datasets(config["datasets"])["orders"]
    if lenient:  # the dirty file has ~0.33% bad rows: more than max_rows, within max_fraction
        dataset = dataclasses.replace(dataset, threshold=RejectThreshold(None, 0.01))
    with psycopg.connect(dsn, autocommit=True) as conn:
        loader = Loader(dataset)
        source = Source("bench", Path(path).name, uuid.uuid4().hex)
        opened: list[Any] = []

        def open_stream() -> Any:  # a fresh stream per pass, like a new S3 GetObject
            opened.append(open(path, "rb"))  # noqa: SIM115
            return opened[-1].read

        try:
            result = loader.load(conn, source, open_stream)
        finally:
            for f in opened:
                f.close()
    return {
        "status": result.status,
        "rows": result.rows_loaded,
        "rejected": result.rows_rejected,
        "passes": result.passes,
        "reason": result.reason,
        "max_buffer": loader.last_max_buffer,
    }


def run_pandas(path: str, dsn: str, rows: int) -> dict[str, object]:
    import pandas as pd
    import sqlalchemy

    params = dict(part.split("=", 1) for part in dsn.split())
    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg",
        username=params["user"],
        password=params["password"],
        host=params.get("host"),
        port=int(params["port"]),
        database=params["dbname"],
    )
    connect_args = {k: v for k, v in params.items() if k in {"sslmode", "sslrootcert", "hostaddr"}}
    engine = sqlalchemy.create_engine(url, connect_args=connect_args)
    frame = pd.read_csv(
        path,
        nrows=rows,
        keep_default_na=False,
        na_values=[""],
        parse_dates=["ordered_at"],
        date_format="ISO8601",
    )
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True, format="ISO8601")
    frame["delivery_date"] = pd.to_datetime(frame["delivery_date"], format="ISO8601").dt.date
    frame["is_gift"] = frame["is_gift"].astype(str).str.lower().isin(["true", "t", "yes", "1"])
    with engine.begin() as conn:
        frame.to_sql(
            "orders", conn, schema="sales", if_exists="append", index=False, chunksize=10_000
        )
    engine.dispose()
    return {"status": "loaded", "rows": len(frame)}


def run_floor(path: str, dsn: str) -> dict[str, object]:
    import psycopg

    columns = "order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date"
    statement = (
        f"COPY sales.orders ({columns}, _ferry_load_id, _ferry_line) FROM STDIN (FORMAT csv)"
    )
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        conn.transaction(),
        conn.cursor().copy(statement) as copy,
        open(path, "rb") as f,
    ):
        while data := f.read(1 << 20):
            copy.write(data)
    return {"status": "loaded"}


def main() -> None:
    kind, path, dsn = sys.argv[1:4]
    start = time.perf_counter()
    if kind in {"ferry", "ferry-lenient"}:
        out = run_ferry(path, dsn, lenient=kind == "ferry-lenient")
    elif kind == "floor":
        out = run_floor(path, dsn)
    elif kind == "pandas":
        out = run_pandas(path, dsn, int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown contender {kind}")
    out["inner_seconds"] = time.perf_counter() - start
    print(json.dumps(out))


if __name__ == "__main__":
    main()
