"""``ferry``: the operator's command, against AWS (the usual credential chain) or the local stack.

::

    ferry --outputs prod.json status s3://raw-bucket/incoming/orders.csv
    ferry ls --status rejected --since 24h [--route orders]
    ferry reprocess incoming/orders.csv@3Lg... [--wait 120]
    ferry redrive
    ferry summary --since 7d
    ferry --endpoint-url http://127.0.0.1:5000 --outputs .local/outputs.json summary

A table by default, ``--json`` for scripts. Errors are one line on stderr and
a non-zero exit (1: AWS or the ledger said no; 2: the command was wrong).
:mod:`ferry.cli.config` says where the deployment's names come from.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from ferry.aws import DynamoDB, ObjectGone, Refused
from ferry.cli.adapters import Clients, Objects, Queues, caller
from ferry.cli.config import ConfigError, Deployment, resolve
from ferry.cli.ops import Operator, OperatorError, parse_since
from ferry.ledger import STATUSES, Ledger
from ferry.model import Transient

HINTS = {
    "ResourceNotFoundException": "the ledger table or its status-time index does not exist"
    " in this account and region (check --outputs / --region)",
    "AccessDenied": "the caller lacks a permission (see the README's operator section)",
    "UnrecognizedClientException": "the credentials are not valid here (--profile, --region)",
    "InvalidClientTokenId": "the credentials are not valid here (--profile, --region)",
    "NoCredentialsError": "no AWS credentials found (--profile, or the environment)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferry",
        description="Operate a ferry deployment: file status, listings, reprocess, redrive.",
    )
    parser.add_argument("--outputs", help="terraform output -json file (FERRY_OUTPUTS)")
    parser.add_argument("--ledger-table", help="ledger table (FERRY_LEDGER_TABLE)")
    parser.add_argument("--status-index", help="ledger status index (FERRY_STATUS_INDEX)")
    parser.add_argument("--raw-bucket", help="raw bucket, for bare keys (FERRY_RAW_BUCKET)")
    parser.add_argument("--processed-bucket", help="processed bucket (FERRY_PROCESSED_BUCKET)")
    parser.add_argument("--queue-url", help="ingest queue (FERRY_QUEUE_URL)")
    parser.add_argument("--dlq-url", help="dead-letter queue (FERRY_DLQ_URL)")
    parser.add_argument("--endpoint-url", help="AWS endpoint: the local stack (AWS_ENDPOINT_URL)")
    parser.add_argument("--region", help="AWS region (AWS_REGION)")
    parser.add_argument("--profile", help="AWS profile (AWS_PROFILE)")
    parser.add_argument("--json", action="store_true", help="JSON for scripts")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("status", help="every attempt of every version of a file, and its lineage")
    p.add_argument("target", help="s3://bucket/key, a key in the raw bucket, …@version")
    p.add_argument("--version", help="one version id (instead of @version)")

    p = sub.add_parser("ls", help="files by status since a time (the ledger's status index)")
    p.add_argument("--status", required=True, choices=STATUSES)
    p.add_argument("--since", default="24h", help="30m, 24h, 7d or an ISO time (default 24h)")
    p.add_argument("--route", help="only this route")

    p = sub.add_parser("reprocess", help="a new attempt of a rejected or dead-lettered file")
    p.add_argument("target", help="s3://bucket/key[@version] or key[@version]")
    p.add_argument("--version", help="the version id (instead of @version)")
    p.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait for the new result"
    )

    p = sub.add_parser("redrive", help="move the DLQ back to the ingest queue, with progress")
    p.add_argument("--rate", type=int, help="messages per second (SQS's move task)")
    p.add_argument(
        "--by-copy",
        action="store_true",
        help="receive/send/delete instead of a move task (endpoints without move tasks)",
    )

    p = sub.add_parser("summary", help="files and rows by route and status, queue depths")
    p.add_argument("--since", default="24h", help="30m, 24h, 7d or an ISO time (default 24h)")
    return parser


def operator(deployment: Deployment, clients: Any = None, clock: Any = None) -> Operator:
    clients = clients or Clients(deployment.endpoint_url, deployment.region, deployment.profile)
    table = deployment.need("ledger_table", "--ledger-table")
    ledger = Ledger(table, DynamoDB(clients("dynamodb")), **({"clock": clock} if clock else {}))
    return Operator(
        ledger,
        Objects(clients("s3")),
        Queues(clients("sqs")),
        raw_bucket=deployment.raw_bucket,
        processed_bucket=deployment.processed_bucket,
        queue_url=deployment.queue_url,
        dlq_url=deployment.dlq_url,
        status_index=deployment.status_index,
        who=lambda: caller(clients),
        now=ledger.clock,
    )


def main(argv: Sequence[str] | None = None, *, clients: Any = None, clock: Any = None) -> int:
    """The console script; ``clients`` (service -> boto3 client) and ``clock`` are for tests."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        deployment = resolve({k: v for k, v in vars(args).items() if isinstance(v, str)})
        op = operator(deployment, clients, clock)
        return run(args, op, out, err)
    except (ConfigError, OperatorError) as e:
        print(f"ferry: {e}", file=err)
        return 2 if isinstance(e, ConfigError) else 1
    except (Transient, Refused, ObjectGone) as e:
        print(f"ferry: {one_line(e)}", file=err)
        return 1
    except Exception as e:  # botocore outside translate_errors (credentials, region)
        if type(e).__module__.startswith("botocore"):
            print(f"ferry: {one_line(e)}", file=err)
            return 1
        raise


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    for code, hint in HINTS.items():
        if code in text or type(error).__name__ == code:
            return f"{text} ({hint})"
    return text


def run(args: argparse.Namespace, op: Operator, out: TextIO, err: TextIO) -> int:
    if args.command == "status":
        show_status(op.status(args.target, args.version), args.json, out)
    elif args.command == "ls":
        rows = op.ls(args.status, parse_since(args.since, op.now()), args.route)
        if args.json:
            dump(rows, out)
        else:
            table(
                [
                    (
                        r["status_at"],
                        r["status"],
                        r["route"],
                        r["uri"],
                        r["version_id"],
                        r["attempt"],
                        short(r["reason"]),
                    )
                    for r in rows
                ],
                ("when", "status", "route", "file", "version", "attempt", "reason"),
                out,
            )
            print(f"{len(rows)} file(s) {args.status} since {args.since}", file=out)
    elif args.command == "reprocess":
        result = op.reprocess(args.target, args.version)
        if not args.json:
            print(
                f"{result['ledger_id']}: {result['previous_status']} -> {result['status']};"
                f" message {result['message_id']} sent to the ingest queue",
                file=out,
            )
        if args.wait > 0:
            item = op.wait(result["ledger_id"], args.wait, time.sleep)
            result["result"] = {
                "status": item.get("status"),
                "attempt": int(item.get("attempt") or 0),
                "reason": item.get("reason"),
                "counts": {k: int(v) for k, v in (item.get("counts") or {}).items()},
            }
            if not args.json:
                r = result["result"]
                print(
                    f"attempt {r['attempt']}: {r['status']} {r['counts'] or ''}"
                    f"{' - ' + r['reason'] if r['reason'] else ''}",
                    file=out,
                )
        if args.json:
            dump(result, out)
        if args.wait > 0 and result["result"]["status"] != "loaded":
            return 1
    elif args.command == "redrive":
        last = None
        for progress in op.redrive(rate=args.rate, by_copy=args.by_copy):
            last = progress
            total = "?" if progress.to_move is None else progress.to_move
            print(
                f"redrive {progress.status.lower()}: {progress.moved} of {total} moved",
                file=err,
                flush=True,
            )
        if last is None:
            raise OperatorError("no move task was found after starting one")
        if args.json:
            dump(
                {
                    "status": last.status,
                    "moved": last.moved,
                    "to_move": last.to_move,
                    "failure": last.failure,
                },
                out,
            )
        else:
            print(f"{last.status}: {last.moved} message(s) moved to the ingest queue", file=out)
        if last.status != "COMPLETED":
            raise OperatorError(f"the move task ended {last.status}: {last.failure or ''}")
    elif args.command == "summary":
        show_summary(op.summary(parse_since(args.since, op.now())), args.json, out)
    return 0


def show_status(result: dict[str, Any], as_json: bool, out: TextIO) -> None:
    if as_json:
        dump(result, out)
        return
    for step in result["path"]:
        print(f"lineage: {step}", file=out)
    if result.get("note"):
        print(f"note: {result['note']}", file=out)
    for v in result["versions"]:
        print(
            f"\n{v['ledger_id']}\n  status {v['status']}  route {v['route'] or '-'}"
            f"  attempts {v['attempt']}  since {v['status_at'] or '-'}",
            file=out,
        )
        if v["reason"]:
            print(f"  reason: {v['reason']}", file=out)
        rows = [
            (
                a.get("attempt", "-"),
                a.get("event", "-"),
                a.get("status", "-"),
                a.get("claimed_at") or a.get("at") or "-",
                a.get("finished_at") or "-",
                (a.get("timings") or {}).get("total_ms", "-"),
                counts_text(a.get("counts")),
                " ".join(a.get("outputs") or []) or "-",
                short(a.get("reason") or a.get("requested_by")),
            )
            for a in v["attempts"]
        ]
        table(
            rows,
            (
                "#",
                "event",
                "status",
                "started",
                "finished",
                "ms",
                "counts",
                "outputs",
                "reason / by",
            ),
            out,
            indent="  ",
        )
        for step in v["lineage"]:
            print(f"  lineage: {step}", file=out)


def show_summary(result: dict[str, Any], as_json: bool, out: TextIO) -> None:
    if as_json:
        dump(result, out)
        return
    print(f"since {result['since']} (until {result['until']})", file=out)
    rows = [
        (
            route,
            *(c.get(s, 0) for s in STATUSES),
            c.get("loaded_units", 0),
            c.get("rejected_units", 0),
        )
        for route, c in sorted(result["routes"].items())
    ]
    table(rows, ("route", *STATUSES, "rows/records loaded", "rows/records rejected"), out)
    for name, depth in result["queues"].items():
        print(f"{name}: {depth['waiting']} waiting, {depth['in_flight']} in flight", file=out)


def counts_text(counts: dict[str, Any] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((counts or {}).items())) or "-"


def short(text: Any, width: int = 80) -> str:
    if not text:
        return "-"
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(
    rows: list[tuple[Any, ...]], header: tuple[str, ...], out: TextIO, indent: str = ""
) -> None:
    cells = [tuple("-" if c is None else str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *cells]:
        print(
            indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(),
            file=out,
        )


def dump(data: Any, out: TextIO) -> None:
    from ferry.cli.ops import plain

    json.dump(plain(data), out, indent=2, sort_keys=True, default=str)
    out.write("\n")
