"""``make smoke ENV=<env>``: prove a deployed environment end to end with a small sample set.

Uploads a handful of files into the environment's raw bucket (a valid CSV, a
CSV with bad rows, JSON records, an invalid JSON file, a document: one of each
route the configuration has), waits until the ledger has a terminal record for
each (``loaded`` / ``rejected`` / ``dead_lettered``), prints one line per file
and exits non-zero when a file did not end as expected or in time.

Names come from ``terraform output -json`` of ``environments/<env>``, whose
output ``ferry`` is the composition's outputs (raw bucket, ledger table, queue,
storage key); AWS credentials and region are yours, as for ``make apply``. The
same code runs against the local stack in the end-to-end tests
(:func:`run` with a :class:`ferry_dev.local.Stack`)::

    python -m ferry_dev.smoke --env dev [--config lambda_src/config/ferry.json] [--timeout 300]
    python -m ferry_dev.smoke --local [--state-dir .local]

What it needs from the caller's credentials: ``s3:PutObject`` on the raw bucket
(and ``kms:GenerateDataKey`` on the storage key), ``dynamodb:GetItem`` /
``BatchGetItem`` on the ledger table, ``sqs:GetQueueAttributes`` on the queue.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry_dev.report import StackView, print_table, say
from ferry_dev.samples import build_samples, upload, wait_terminal
from ferry_dev.uploads import TERMINAL, Sample, Upload, resolve

#: The samples a smoke run uploads (when the configuration has their route).
SMOKE_SAMPLES = ("valid CSV", "CSV with bad rows", "JSON records", "invalid JSON", "PDF document")
#: Small enough for any deployment's size limits.
MAX_BYTES = 1024 * 1024


@dataclass
class Deployment:
    """A deployed environment, as :mod:`ferry_dev.report` and :mod:`ferry_dev.samples` see it."""

    outputs: dict[str, Any]
    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.session.Session(region_name=self.region).client(service)
        return self._clients[service]

    def postgres(self) -> Any:
        raise RuntimeError("a deployed database is only reachable from inside its VPC")


def smoke_samples(config: dict[str, Any], run: str) -> list[Sample]:
    """The smoke set: the named samples whose routes the configuration has."""
    chosen = []
    for sample in build_samples_lenient(config, run):
        if sample.name in SMOKE_SAMPLES:
            chosen.append(sample)
    return chosen


def build_samples_lenient(config: dict[str, Any], run: str) -> list[Sample]:
    """:func:`build_samples`, leaving out kinds whose route the configuration lacks."""
    try:
        return build_samples(config, run, MAX_BYTES)
    except (LookupError, KeyError):
        pass
    # Some route kind is missing: build from a configuration per route kind.
    out: list[Sample] = []
    for route in config.get("routes", []):
        single = {**config, "routes": [route]}
        try:
            out += build_samples(single, run, MAX_BYTES)
        except (LookupError, KeyError):
            continue
    return out


def report(uploads: list[Upload], items: dict[str, dict[str, Any]]) -> list[str]:
    """Print one line per file; returns the problems (empty: every file ended as expected)."""
    rows = []
    problems = []
    for u in uploads:
        item = resolve(items, u) or {}
        status = str(item.get("status", "no ledger record"))
        expected = u.sample.expect_status
        ok = status == expected
        if status not in TERMINAL:
            problems.append(f"{u.sample.key}: {status} (not terminal in time)")
        elif not ok:
            problems.append(f"{u.sample.key}: {status}, expected {expected}")
        reason = str(item.get("reason") or "")[:60]
        rows.append((u.sample.name, u.sample.key, status, expected, "ok" if ok else "FAIL", reason))
    print_table(rows, ("sample", "key", "status", "expected", "check", "reason"))
    return problems


def run(target: StackView, config: dict[str, Any], *, timeout: float = 300.0) -> list[str]:
    """Upload the smoke set to ``target``, wait, print the summary; returns the problems."""
    run_id = "smoke-" + time.strftime("%Y%m%dT%H%M%S")
    samples = smoke_samples(config, run_id)
    if not samples:
        return ["the processing configuration has no route the smoke set covers"]
    say(f"uploading {len(samples)} files to s3://{target.outputs['bucket_names']['raw']}/ ...")
    uploads = upload(target, samples)
    items = wait_terminal(target, uploads, timeout)
    problems = report(uploads, items)
    for p in problems:
        say(f"PROBLEM: {p}")
    say("smoke: " + ("passed" if not problems else f"{len(problems)} problem(s)"))
    return problems


def environment_outputs(env: str) -> dict[str, Any]:
    """``terraform output -json`` of environments/<env>, flattened (see ``flatten_outputs``)."""
    from ferry_dev import terraform as tf
    from ferry_dev.local import flatten_outputs

    folder = tf.REPO / "environments" / env
    if not (folder / "main.tf").is_file():
        raise SystemExit(f"no environment {env!r} in environments/")
    env_vars = tf.base_env({})
    done = subprocess.run(
        [tf.terraform_bin(), "output", "-json"],
        cwd=folder,
        env=env_vars,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"terraform output failed in environments/{env} (apply it first, with its "
            f"backend: `make apply ENV={env}`):\n{done.stderr.strip()}"
        )
    outputs = flatten_outputs(json.loads(done.stdout or "{}"))
    needed = ("bucket_names", "table_names", "queue_url", "kms_key_arns")
    if not all(outputs.get(n) for n in needed):
        raise SystemExit(
            f"environments/{env} has no applied `ferry` output with {', '.join(needed)}"
        )
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ferry_dev.smoke", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--env", help="a deployed environment under environments/")
    where.add_argument("--local", action="store_true", help="the running local stack")
    parser.add_argument("--state-dir", type=Path, default=None, help="local stack state")
    parser.add_argument("--config", type=Path, default=None, help="processing configuration")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    target: StackView
    if args.local:
        from ferry_dev.local import DEFAULT_STATE_DIR, Stack

        stack = Stack(args.state_dir or DEFAULT_STATE_DIR)
        target, config_path = stack, args.config or stack.config_path
    else:
        from ferry_dev.build import CONFIG

        outputs = environment_outputs(args.env)
        target, config_path = Deployment(outputs), args.config or CONFIG
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    return 1 if run(target, config, timeout=args.timeout) else 0


if __name__ == "__main__":
    sys.exit(main())
