"""JSON records benchmark: the streamed json_records processor against the whole-object path.

    python bench/json_records.py [--gib 1.0] [--compare-mib 100] [--runs 1]

Generates, once and deterministically, JSON Lines telemetry files in bench/data/
(git-ignored): ``--gib`` GiB for the memory figure, ``--compare-mib`` MiB for the
comparison (the old whole-object cap was 100 MB). Each contender runs in its own
child process forked by bench/spawn.py (so its peak RSS is its own):

* ``stream``: :class:`ferry.processors.json_records.JsonRecordsProcessor.run`, both
  passes, reading the file through the same ``read(n)`` interface as an S3 body;
  DynamoDB writes are replaced by serialising each item with ferry's serializer;
* ``whole``: the path the processor had before streaming: read the whole object,
  decode it, split the lines, decode and check every record, then serialise the
  valid ones (the same per-record decoder, schema check and item check).

Prints records/s and peak RSS, and the ratio stream/whole on the comparison file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO / "bench"))


def generate(path: Path, size: int) -> int:
    """Seeded telemetry JSON Lines of about ``size`` bytes; returns the record count."""
    if path.exists() and path.stat().st_size >= size:
        return sum(1 for _ in path.open("rb"))
    rng = random.Random(15)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            lines = []
            for _ in range(1000):
                record = {
                    "device_id": f"sensor-{rng.randrange(100_000):05d}",
                    "timestamp": f"2026-11-{1 + count % 28:02d}T{count % 24:02d}:"
                    f"{count // 24 % 60:02d}:{count // 1440 % 60:02d}.{count % 1_000_000:06d}Z",
                    "metrics": {
                        "temperature": round(rng.uniform(-20, 45), 2),
                        "humidity": rng.randrange(100),
                        "pressure": round(rng.uniform(950, 1050), 1),
                        "battery": round(rng.random(), 4),
                        "ok": rng.random() > 0.01,
                        "firmware": f"v{rng.randrange(5)}.{rng.randrange(20)}",
                        "note": None if rng.random() < 0.7 else "Zürich Bahnhofstraße ✓",
                    },
                    "tags": {"site": f"site-{rng.randrange(300)}", "rack": str(rng.randrange(40))},
                }
                lines.append(json.dumps(record, ensure_ascii=False))
                count += 1
            chunk = "\n".join(lines) + "\n"
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
    return count


def _context(path: Path) -> Any:
    """What the processor reads from ``ctx``, with S3 and DynamoDB replaced by the file."""
    from ferry.aws import DynamoDB, Head
    from ferry.config import Limits, load_config
    from ferry.settings import SOURCE_CONFIG

    config = load_config(SOURCE_CONFIG)
    route = next(r for r in config.routes if r.name == "telemetry-lines")
    serializer = DynamoDB(dynamodb_client=object())
    written = [0]

    def batch_write(table: str, items: Any, **_: Any) -> int:
        for item in items:
            serializer.serialize(item)
            written[0] += 1
        return written[0]

    size = path.stat().st_size
    return SimpleNamespace(
        route=route,
        limits=Limits(max_records=100_000_000, max_stream_bytes=8 * 1024**3),
        config=config,
        s3=SimpleNamespace(
            stream=lambda _ref: (path.open("rb"), size),
            head=lambda _ref: Head(size, None, None, None),
        ),
        dynamodb=SimpleNamespace(batch_write=batch_write),
        settings=SimpleNamespace(require=lambda _name: "records"),
        failed=SimpleNamespace(write=lambda *a, **k: "s3://failed/report"),
        ledger_id="s3://raw/incoming/telemetry/bench.jsonl#v1",
        now=lambda: dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
        log=None,
        written=written,
    )


def child_stream(path: Path) -> dict[str, Any]:
    from ferry.model import ObjectRef
    from ferry.processors.json_records import JsonRecordsProcessor

    ctx = _context(path)
    ref = ObjectRef("raw", "incoming/telemetry/bench.jsonl", "v1", size=path.stat().st_size)
    start = time.perf_counter()
    outcome = JsonRecordsProcessor().run(ref, ctx)
    seconds = time.perf_counter() - start
    assert outcome.status == "loaded", outcome.reason
    return {"records": outcome.counts["records_total"], "seconds": seconds}


def child_whole(path: Path) -> dict[str, Any]:
    from ferry.itemcheck import ItemProblem, check_item
    from ferry.jsondoc import decode_text, iter_lines, validator, violations

    ctx = _context(path)
    schema = ctx.config.schemas["telemetry_record"]
    compiled = validator("telemetry_record", schema)
    serializer = __import__("ferry.aws", fromlist=["DynamoDB"]).DynamoDB(dynamodb_client=object())
    added = {"ingested_from": ctx.ledger_id, "ingested_at": "2026-11-24T00:00:00Z"}
    start = time.perf_counter()
    with path.open("rb") as f:
        text = decode_text(f.read())
    valid = []
    total = 0
    for line in iter_lines(text, max_depth=64):
        total += 1
        if line.problem is not None or violations(compiled, line.value):
            continue
        item = {**line.value, **added}
        try:
            check_item(item, ("device_id", "timestamp"))
        except ItemProblem:
            continue
        valid.append(item)
    for item in valid:
        serializer.serialize(item)
    seconds = time.perf_counter() - start
    return {"records": total, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--compare-mib", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--child", choices=["stream", "whole"])
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        result = (child_stream if args.child == "stream" else child_whole)(args.file)
        print(json.dumps(result))
        return

    from run import Spawner  # forks small children, so their peak RSS is their own

    spawner = Spawner()
    small = DATA / f"telemetry-{args.compare_mib}mib.jsonl"
    big = DATA / f"telemetry-{args.gib:g}gib.jsonl"
    n_small = generate(small, args.compare_mib * 1024**2)
    n_big = generate(big, int(args.gib * 1024**3))
    rows = []
    for _ in range(args.runs):
        for name, path, count in (
            ("whole", small, n_small),
            ("stream", small, n_small),
            ("stream", big, n_big),
        ):
            cmd = [sys.executable, __file__, "--child", name, "--file", str(path)]
            wall, rss, out = spawner.run(cmd)
            result = json.loads(out)
            assert result["records"] == count, (result, count)
            rows.append((name, path.name, count, path.stat().st_size, result["seconds"], wall, rss))
    spawner.close()
    print(
        f"{'path':8} {'file':26} {'records':>10} {'MiB':>7} {'rec/s':>9} {'s':>7} {'peak RSS':>9}"
    )
    for name, file, count, size, seconds, wall, rss in rows:
        print(
            f"{name:8} {file:26} {count:>10} {size / 1024**2:>7.0f} {count / seconds:>9.0f}"
            f" {wall:>7.1f} {rss / 1024**2:>6.1f} MiB"
        )
    whole = next(r for r in rows if r[0] == "whole")
    stream = next(r for r in rows if r[0] == "stream" and r[1] == whole[1])
    ratio = (stream[2] / stream[4]) / (whole[2] / whole[4])
    print(f"stream / whole records/s on {whole[1]}: {ratio:.2f}")


if __name__ == "__main__":
    main()
