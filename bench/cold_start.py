"""Cold start: the handler's import and first-invocation set-up, as a ratio to ``import boto3``.

    python bench/cold_start.py [--runs 15] [--no-zip]

Each sample is a fresh interpreter (``python -c``), the contenders interleaved,
``--runs`` rounds; figures are medians of the time measured inside the child
around the work, CPU time (``time.process_time``, what the work costs whatever
else the machine runs; ratios use it) and wall time:

* ``import boto3``: the reference (the Lambda Python runtime ships boto3);
* ``ferry handler``: ``import ferry.handler`` + ``ferry.handler.runtime()``, the
  set-up the first invocation does before it touches an object (settings, the
  configuration read and checked, the adapters);
* ``+ clients`` for both: the DynamoDB and S3 clients the first object needs
  (the ledger write and the GetObject), so the comparison includes what boto3
  itself costs on first use.

The processors' own dependencies (psycopg for CSV, jsonschema for JSON) are
imported by the first object of their kind; they are timed apart
(``ferry.csvload`` + psycopg, ``ferry.jsondoc`` + jsonschema), as a cost of that
first object, not of every cold start. Also builds the zip
(``ferry_dev.build``, a CA bundle generated on the spot) and prints its size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TIMED = """
import time, json
t0, c0 = time.perf_counter(), time.process_time()
{body}
print(json.dumps({{"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}}))
"""

CONTENDERS = {
    "import boto3": "import boto3",
    "ferry handler": "import ferry.handler; ferry.handler.runtime()",
    "import boto3 + clients": (
        "import boto3; s = boto3.session.Session(); s.client('dynamodb'); s.client('s3')"
    ),
    "ferry handler + clients": (
        "import ferry.handler; rt = ferry.handler.runtime(); rt.dynamodb.client; rt.s3.client"
    ),
    "first CSV object: ferry.csvload + psycopg": (
        "import ferry.csvload.loader, psycopg, psycopg.sql, psycopg.errors"
    ),
    "first JSON object: ferry.jsondoc + jsonschema": (
        "import ferry.jsondoc as j, ferry.config as c; j.validator('s', {'type': 'object'})"
    ),
}


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "AWS_"))}
    env.update(
        PYTHONPATH=str(REPO / "lambda_src"),
        PYTHONDONTWRITEBYTECODE="1",
        FERRY_LEDGER_TABLE="ledger",
        FERRY_FAILED_BUCKET="failed",
        FERRY_CONFIG_PATH=str(REPO / "lambda_src/config/ferry.json"),
        AWS_REGION="eu-west-1",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(tmp / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "none"),
    )
    return env


def sample(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``code`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", TIMED.format(body=code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"])


def zip_size(tmp: Path) -> str:
    sys.path.insert(0, str(REPO / "lambda_src"))
    from ferry_dev.build import build
    from ferry_dev.services import make_tls

    tls = make_tls(tmp / "tls")
    try:
        artifacts = build(tmp / "build", rds_ca_bundle=Path(tls.ca_cert), log=False)
    except Exception as err:
        return f"zip not built: {err}"
    return "; ".join(
        f"{a.path.name} {a.size:,} bytes ({a.size / 2**20:.1f} MiB)" for a in artifacts
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-zip", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(tmp)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CONTENDERS}
        for _ in range(args.runs):
            for name, code in CONTENDERS.items():
                samples[name].append(sample(code, env))
        size = "" if args.no_zip else zip_size(tmp)
    med = {name: statistics.median(c for _, c in s) for name, s in samples.items()}
    wall = {name: statistics.median(w for w, _ in s) for name, s in samples.items()}
    ref, ref_clients = med["import boto3"], med["import boto3 + clients"]
    load = os.getloadavg()
    lines = [
        f"runs={args.runs} (fresh interpreter each; medians of CPU and wall time inside the"
        " child; ratios of CPU time);"
        f" load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        "",
        "| what | CPU ms | wall ms | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, secs in med.items():
        if name.startswith(("ferry handler", "first")):
            base = ref_clients if "clients" in name else ref
            ratio = f"{secs / base:.2f} × {'boto3 + clients' if 'clients' in name else 'boto3'}"
        else:
            ratio = ""
        lines.append(f"| {name} | {secs * 1000:.0f} | {wall[name] * 1000:.0f} | {ratio} |")
    if size:
        lines += ["", f"zip: {size}"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
