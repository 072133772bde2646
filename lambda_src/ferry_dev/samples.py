"""The sample set `make local` uploads, and waiting for it to reach terminal states.

Samples are generated from the processing configuration the stack runs with
(routes, the CSV dataset spec, the local size limit), so they follow the
configuration rather than a copy of it. Each sample says what must happen to
it: terminal status, how many rows/records load, how many are rejected.
"""

from __future__ import annotations

import json
import random
import struct
import time
import zlib
from typing import Any

from ferry_dev.report import StackView, ledger_items, queue_depth, say
from ferry_dev.uploads import DEAD, TERMINAL, Sample, Upload, resolve


def _route(config: dict[str, Any], processor: str) -> dict[str, Any]:
    for route in config["routes"]:
        if route["processor"] == processor and route.get("format") != "lines":
            return route
    raise LookupError(f"the processing configuration has no {processor} route")


def _key(route: dict[str, Any], stem: str, suffix: str | None = None) -> str:
    return f"{route['prefix']}{stem}{suffix if suffix is not None else route.get('suffix', '')}"


def _csv_value(column: dict[str, Any], row: int, unique: int) -> str:
    kind = column["type"]
    if kind in ("smallint", "int", "integer", "bigint", "int2", "int4", "int8"):
        return str(unique if kind in ("bigint", "int8") else unique % 30_000)
    if kind == "numeric":
        scale = int(column.get("scale", 2))
        whole = min(10 ** max(int(column.get("precision", 12)) - scale - 1, 0), 1000)
        return f"{(row * 7) % max(whole, 1)}.{'5' * scale}" if scale else str(row % max(whole, 1))
    if kind in ("double", "double precision", "float8"):
        return f"{row * 0.25:.2f}"
    if kind in ("boolean", "bool"):
        return "true" if row % 2 else "false"
    if kind == "date":
        return f"2026-11-{1 + row % 28:02d}"
    if kind == "timestamptz":
        return f"2026-11-{1 + row % 28:02d}T{row % 24:02d}:15:00Z"
    if kind == "enum":
        values = column["values"]
        return values[row % len(values)]
    text = f"{column['name']}-{unique}"
    return text[: int(column.get("max_length", 64))]


def _bad_value(column: dict[str, Any]) -> str | None:
    """A value the column's type refuses, or None if the type accepts any text."""
    kind = column["type"]
    if kind in (
        "smallint",
        "int",
        "integer",
        "bigint",
        "int2",
        "int4",
        "int8",
        "numeric",
        "double",
    ):
        return "twelve"
    if kind == "date":
        return "2026-13-01"
    if kind == "timestamptz":
        return "2026-13-01T00:00:00Z"
    if kind in ("boolean", "bool"):
        return "perhaps"
    if kind == "enum":
        return "no-such-value"
    return None


def orders_csv(dataset: dict[str, Any], rows: int, first_id: int, bad_rows: int = 0) -> bytes:
    """A CSV for ``dataset`` with ``rows`` data rows, the first ``bad_rows`` of them malformed."""
    columns = dataset["columns"]
    delimiter = dataset.get("delimiter", ",")
    target = next(
        (
            c
            for c in columns
            if _bad_value(c) is not None and c["name"] not in dataset.get("primary_key", [])
        ),
        None,
    )
    if bad_rows and target is None:
        raise ValueError("dataset has no column that can hold a malformed value")
    lines = [delimiter.join(c["name"] for c in columns)]
    for n in range(rows):
        values = []
        for column in columns:
            value = _csv_value(column, n, first_id + n)
            if n < bad_rows and column is target:
                value = _bad_value(column) or value
            values.append(value)
        lines.append(delimiter.join(values))
    return ("\n".join(lines) + "\n").encode()


def _png(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x1f\x6f\xb4" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _pdf(title: str) -> bytes:
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def telemetry(run: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "device_id": f"sensor-{run}-{n % 5}",
            "timestamp": f"2026-11-24T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "metrics": {"temperature_c": 20 + n % 7, "battery": 0.9},
            "tags": {"site": "local"},
        }
        for n in range(count)
    ]


def build_samples(config: dict[str, Any], run: str, max_object_bytes: int) -> list[Sample]:
    """One file of every kind the pipeline handles, with what must happen to it."""
    samples: list[Sample] = []
    first_id = int(time.time() * 1000) % 10**12 * 1000 + random.randrange(1000)

    csv_route = _route(config, "csv_postgres")
    dataset = config["datasets"][csv_route["dataset"]]
    if dataset.get("columns"):
        samples.append(
            Sample(
                "valid CSV",
                _key(csv_route, f"{run}/orders-valid"),
                orders_csv(dataset, 200, first_id),
                "loaded",
                200,
                0,
                "text/csv",
            )
        )
        threshold = dataset.get("reject_threshold", {})
        bad, total = 2, 500
        within = bad <= threshold.get("max_rows", bad) and bad / total <= threshold.get(
            "max_fraction", 1.0
        )
        samples.append(
            Sample(
                "CSV with bad rows",
                _key(csv_route, f"{run}/orders-bad-rows"),
                orders_csv(dataset, total, first_id + 10_000, bad_rows=bad),
                "loaded" if within else "rejected",
                total - bad if within else 0,
                bad,
                "text/csv",
            )
        )

    records = _route(config, "json_records")
    samples.append(
        Sample(
            "JSON records",
            _key(records, f"{run}/telemetry"),
            json.dumps(telemetry(run, 60)).encode(),
            "loaded",
            60,
            0,
            "application/json",
        )
    )
    samples.append(
        Sample(
            "invalid JSON",
            _key(records, f"{run}/truncated"),
            b'[{"device_id": "sensor-1", "timestamp": ',
            "rejected",
            0,
            None,
            "application/json",
        )
    )
    transform = _route(config, "json_transform")
    report = {
        "mission": f"local-{run}",
        "source": "OSINT",
        "confidence": 0.8,
        "summary": "Sample report for the local stack.",
        "observed_at": "2026-11-24T09:00:00Z",
    }
    samples.append(
        Sample(
            "JSON to transform",
            _key(transform, f"{run}/report"),
            json.dumps(report).encode(),
            "loaded",
            1,
            0,
            "application/json",
        )
    )
    documents = _route(config, "file_metadata")
    samples.append(
        Sample(
            "PDF document",
            _key(documents, f"{run}/brochure", ".pdf"),
            _pdf("ferry"),
            "loaded",
            1,
            0,
            "application/pdf",
        )
    )
    samples.append(
        Sample(
            "PNG image",
            _key(documents, f"{run}/diagram", ".png"),
            _png(),
            "loaded",
            1,
            0,
            "image/png",
        )
    )
    samples.append(
        Sample(
            "oversize file",
            _key(documents, f"{run}/oversize", ".bin"),
            b"\0" * (max_object_bytes + 1),
            "rejected",
            0,
            None,
        )
    )
    return samples


def upload(stack: StackView, samples: list[Sample]) -> list[Upload]:
    s3 = stack.client("s3")
    bucket = stack.outputs["bucket_names"]["raw"]
    kms = stack.outputs["kms_key_arns"]["storage"]
    done = []
    for sample in samples:
        put = s3.put_object(
            Bucket=bucket,
            Key=sample.key,
            Body=sample.body,
            ContentType=sample.content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms,
        )
        version = put.get("VersionId") or "null"
        done.append(Upload(sample, f"s3://{bucket}/{sample.key}#{version}", time.time()))
    return done


def wait_terminal(
    stack: StackView, uploads: list[Upload], timeout: float, *, progress: bool = True
) -> dict[str, dict[str, Any]]:
    """Poll the ledger until every upload is terminal (or ``timeout``); items by ledger id."""
    started = time.monotonic()
    items: dict[str, dict[str, Any]] = {}
    last = ""
    sqs = stack.client("sqs")
    while True:
        pending = [u for u in uploads if (resolve(items, u) or {}).get("status") not in TERMINAL]
        items.update(ledger_items(stack, [c for u in pending for c in u.candidates]))
        statuses = [(resolve(items, u) or {}).get("status") for u in uploads]
        done = sum(1 for s in statuses if s in TERMINAL)
        if progress:
            waiting, in_flight = queue_depth(sqs, stack.outputs["queue_url"])
            line = (
                f"{done}/{len(uploads)} done: "
                f"{statuses.count('loaded')} loaded, {statuses.count('rejected')} rejected, "
                f"{sum(statuses.count(d) for d in DEAD)} dead-lettered;"
                f" queue {waiting} waiting, {in_flight} in flight"
            )
            if line != last:
                say(f"  [{time.monotonic() - started:5.1f}s] {line}")
                last = line
        if done == len(uploads) or time.monotonic() - started > timeout:
            return items
        time.sleep(0.5)
