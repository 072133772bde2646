"""Deterministic orders CSV files for the loader benchmark (seeded, reproducible).

``clean``: every row valid for the ``orders`` dataset (lambda_src/config/ferry.json):
sequential ids, customers, notes with quoted commas, doubled quotes and
embedded CRLF line breaks, timestamps with offsets, numerics, enums, booleans
in several spellings, NULL delivery dates.

``dirty``: the same rows, with one row in ~300 replaced by a bad row of one of
many kinds (bad timestamps and dates, out-of-range integers, too many decimal
places, unknown enum values, over-long text, NUL bytes, invalid UTF-8, wrong
field counts, stray quotes, missing NOT NULL values, duplicate keys).

    python bench/generate.py --rows 1000000 --out bench/data/orders-1000000.csv [--dirty]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

HEADER = b"order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date\r\n"
STATUSES = ("new", "paid", "shipped", "cancelled")
BOOLS = ("true", "false", "t", "f", "yes", "no", "1", "0")
WORDS = [
    "blue",
    "widget",
    "large",
    "box",
    "fragile",
    "leave",
    "porch",
    "call",
    "first",
    "gift",
    "wrap",
    "express",
    "morning",
    "evening",
    "back",
    "door",
    "neighbour",
    "invoice",
    "attached",
]
NAMES = ("Ada", "Grace", "Linus", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Zoë", "Søren")

BAD_ROWS = (
    b"{id},Bad Timestamp,,2026-13-01T00:00:00Z,10.00,1,new,true,\r\n",
    b"{id},Feb Thirty,,2026-02-03T10:00:00Z,10.00,1,new,true,2026-02-30\r\n",
    b"{id},No Offset,,2026-02-03 10:00:00,10.00,1,new,true,\r\n",
    b"{id},Overflow,,2026-02-03T10:00:00Z,10.00,99999999999,new,true,\r\n",
    b"{id},Scale,,2026-02-03T10:00:00Z,10.005,1,new,true,\r\n",
    b"{id},Precision,,2026-02-03T10:00:00Z,12345678901.00,1,new,true,\r\n",
    b"{id},Enum,,2026-02-03T10:00:00Z,10.00,1,refunded,true,\r\n",
    b"{id},Bool,,2026-02-03T10:00:00Z,10.00,1,new,maybe,\r\n",
    b"{id}," + b"x" * 65 + b",,2026-02-03T10:00:00Z,10.00,1,new,true,\r\n",
    b'{id},Nul,"a\x00b",2026-02-03T10:00:00Z,10.00,1,new,true,\r\n',
    b"{id},Bad \xff\xfe UTF-8,,2026-02-03T10:00:00Z,10.00,1,new,true,\r\n",
    b"{id},Short,2026-02-03T10:00:00Z,10.00,1,new,true,\r\n",
    b'{id},Stray "quote" here,,2026-02-03T10:00:00Z,10.00,1,new,true,\r\n',
    b",Missing Id,,2026-02-03T10:00:00Z,10.00,1,new,true,\r\n",
    b"{dup},Duplicate,,2026-02-03T10:00:00Z,10.00,1,new,true,\r\n",
    b"{id},Not A Number,,2026-02-03T10:00:00Z,ten,1,new,true,\r\n",
)


def _note(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.35:
        return b""  # NULL
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))
    if kind < 0.6:
        return words.encode()
    if kind < 0.85:
        return b'"' + words.replace(" ", ", ", 1).encode() + b'"'
    if kind < 0.95:
        return b'"' + words.encode() + b'\r\nsecond line"'
    return b'"said ""' + words.encode() + b'"" twice"'


def rows(n: int, seed: int, dirty: bool) -> Iterator[bytes]:
    rng = random.Random(seed)
    for i in range(1, n + 1):
        if dirty and rng.random() < 1 / 300:
            template = rng.choice(BAD_ROWS)
            dup = max(1, i - rng.randint(1, 1000))
            yield template.replace(b"{id}", b"%d" % i).replace(b"{dup}", b"%d" % dup)
            continue
        day = rng.randint(1, 28)
        offset = rng.choice((b"Z", b"+02:00", b"-05:00", b"+0530"))
        ts = b"2026-%02d-%02dT%02d:%02d:%02d%s" % (
            rng.randint(1, 12),
            day,
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            offset,
        )
        delivery = b"" if rng.random() < 0.2 else b"2026-%02d-%02d" % (rng.randint(1, 12), day)
        customer = f"{rng.choice(NAMES)} {rng.randint(1, 99999)}".encode()
        yield b"%d,%s,%s,%s,%d.%02d,%d,%s,%s,%s\r\n" % (
            i,
            customer,
            _note(rng),
            ts,
            rng.randint(0, 99999),
            rng.randint(0, 99),
            rng.randint(1, 20),
            rng.choice(STATUSES).encode(),
            rng.choice(BOOLS).encode(),
            delivery,
        )


def generate(path: Path, n: int, *, seed: int = 20261124, dirty: bool = False) -> Path:
    """Write the file (skipped when an identical one exists: the name encodes the inputs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    done = path.with_suffix(path.suffix + ".done")
    if path.exists() and done.exists():
        return path
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as out:
        out.write(HEADER)
        batch: list[bytes] = []
        for row in rows(n, seed, dirty):
            batch.append(row)
            if len(batch) >= 10_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    tmp.replace(path)
    done.touch()
    return path


def numbered(source: Path, target: Path, load_id: int | None) -> Path:
    """``source``'s records as ferry's loader COPYs them (no header), written once.

    Needs ``lambda_src`` on ``sys.path``; ``load_id`` None numbers lines only.
    """
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    import json

    from ferry.csvload import parse_datasets
    from ferry.csvload.lineage import number
    from ferry.csvload.reader import RecordReader
    from ferry.csvload.validate import RowValidator, map_header, parse_header

    config = json.loads(
        (Path(__file__).resolve().parents[1] / "lambda_src/config/ferry.json").read_text()
    )
    dataset = parse_datasets(config["datasets"])["orders"]
    part = target.with_name(target.name + ".part")
    with source.open("rb") as f, part.open("wb") as out:
        reader = RecordReader(f.read)
        header, eol = reader.header()
        order = map_header(dataset, parse_header(header, ","))
        validator = RowValidator(dataset, order, eol.decode())
        for chunk in reader.chunks(eol):
            result = validator.validate(chunk.data, chunk.first_line)
            if result.rejects:
                raise SystemExit(f"{source}: the clean file has rejected rows")
            for data, line in result.segments:
                out.write(validator.project(number(data, line, ",", eol, load_id=load_id)))
    part.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--dirty", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generate(args.out, args.rows, seed=args.seed, dirty=args.dirty)
    print(args.out, args.out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
