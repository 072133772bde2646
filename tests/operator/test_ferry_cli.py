"""The ``ferry`` command on the moto server (and SQS's move task, which moto lacks, stubbed)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from ferry.cli import main
from ferry.cli.adapters import Queues
from ferry.cli.config import flatten, resolve
from ferry.cli.ops import parse_target
from ferry.intake import object_refs
from ferry.model import ObjectRef, Outcome

pytestmark = pytest.mark.moto


def _rejected(deployment, key: str, version: str, reason: str = "line 3: amount is not a number"):
    ledger = deployment.ledger()
    ref = ObjectRef(deployment.names["raw"], key, version, etag="e")
    job = ledger.claim(ref, lease_ms=60_000, owner="req-1")
    job.finish(
        Outcome("rejected", "csv_postgres", {"rows_rejected": 1, "rows_total": 2}, [], reason),
        route="orders",
        timings={"total_ms": 9},
    )
    return ref


def test_status_shows_every_attempt_of_every_version_and_the_lineage(deployment) -> None:
    key = "incoming/orders.csv"
    v1 = deployment.put(key, b"id,amount\n1,x\n")
    v2 = deployment.put(key, b"id,amount\n1,2\n")
    _rejected(deployment, key, v1)
    ledger = deployment.ledger()
    job = ledger.claim(ObjectRef(deployment.names["raw"], key, v2), lease_ms=60_000, owner="r2")
    job.finish(
        Outcome("loaded", "csv_postgres", {"rows_loaded": 1}, ["postgresql:sales.orders#load=42"]),
        route="orders",
        timings={"total_ms": 15},
    )

    code, out, err = deployment.ferry("status", key)
    assert (code, err) == (0, "")
    assert f"#{v1}" in out
    assert f"#{v2}" in out
    assert "line 3: amount is not a number" in out
    assert "_ferry_load_id = 42" in out

    code, out, _ = deployment.ferry("--json", "status", f"s3://{deployment.names['raw']}/{key}")
    data = json.loads(out)
    by_version = {v["version_id"]: v for v in data["versions"]}
    assert by_version[v1]["status"] == "rejected"
    assert by_version[v2]["attempts"][0]["outputs"] == ["postgresql:sales.orders#load=42"]
    assert by_version[v2]["attempts"][0]["timings"] == {"total_ms": 15}

    code, out, _ = deployment.ferry("--json", "status", f"{key}@{v1}")
    assert [v["version_id"] for v in json.loads(out)["versions"]] == [v1]


def test_status_follows_a_processed_object_back_to_its_source(deployment) -> None:
    raw, processed = deployment.names["raw"], deployment.names["processed"]
    version = deployment.put("docs/a.json", b"{}")
    ledger = deployment.ledger()
    job = ledger.claim(ObjectRef(raw, "docs/a.json", version), lease_ms=60_000, owner="r")
    job.finish(Outcome("loaded", "json_transform", {"documents": 1}), route="d", timings={})
    deployment.aws("s3").put_object(
        Bucket=processed,
        Key="processed/docs/a.json",
        Body=b"{}",
        Metadata={
            "ferry-source-bucket": raw,
            "ferry-source-key": "docs/a.json",
            "ferry-source-version": version,
        },
    )
    code, out, _ = deployment.ferry("--json", "status", f"s3://{processed}/processed/docs/a.json")
    data = json.loads(out)
    assert code == 0
    assert data["path"] == [
        f"s3://{processed}/processed/docs/a.json was written from s3://{raw}/docs/a.json#{version}"
    ]
    assert data["versions"][0]["status"] == "loaded"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["status", "incoming/never.csv"], "no ledger record for s3://"),
        (["status", "s3://no-such-bucket-ferry/x.csv"], "bucket 'no-such-bucket-ferry' does not"),
        (["reprocess", "incoming/never.csv"], "nothing to reprocess"),
        (["ls", "--status", "rejected", "--since", "yesterday"], "--since 'yesterday'"),
    ],
)
def test_errors_are_one_line_without_a_traceback(deployment, argv, message) -> None:
    code, out, err = deployment.ferry(*argv)
    assert code == 1
    assert out == ""
    assert err.startswith("ferry: ")
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_permission_is_one_line_with_a_hint(deployment) -> None:
    ddb = deployment.aws("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_client_error(
            "get_item",
            service_error_code="AccessDeniedException",
            service_message="User: arn:aws:iam::1:user/x is not authorized to perform: "
            "dynamodb:GetItem",
            http_status_code=400,
        )
        code, _, err = deployment.ferry("status", "incoming/a.csv@null")
    assert code == 1
    assert "dynamodb:GetItem" in err
    assert "lacks a permission" in err
    assert err.count("\n") == 1


def test_ls_uses_the_status_index_and_never_scans(deployment) -> None:
    _rejected(deployment, "incoming/a.csv", "v1")
    _rejected(deployment, "incoming/b.csv", "v1")
    deployment.clock.tick(days=2)
    _rejected(deployment, "incoming/c.csv", "v1", reason="header has 1 column")
    calls: list[str] = []
    deployment.aws("dynamodb").meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    try:
        code, out, _ = deployment.ferry("ls", "--status", "rejected", "--since", "24h")
        assert code == 0
        assert "incoming/c.csv" in out
        assert "incoming/a.csv" not in out
        assert "header has 1 column" in out
        assert "1 file(s) rejected" in out
        code, out, _ = deployment.ferry(
            "--json", "ls", "--status", "rejected", "--since", "3d", "--route", "orders"
        )
        rows = json.loads(out)
        assert sorted(r["uri"].rsplit("/", 1)[1] for r in rows) == ["a.csv", "b.csv", "c.csv"]
        code, out, _ = deployment.ferry("--json", "ls", "--status", "rejected", "--route", "x")
        assert json.loads(out) == []
    finally:
        deployment.aws("dynamodb").meta.events.unregister("before-call.dynamodb.*")
    assert "Scan" not in calls
    assert "Query" in calls


def test_reprocess_sends_an_event_the_processor_reads_and_records_the_request(deployment):
    key = "incoming/orders.csv"
    version = deployment.put(key, b"id,amount\n1,2\n")
    ref = _rejected(deployment, key, version)
    code, out, err = deployment.ferry("reprocess", key)
    assert code == 0, err
    assert "rejected -> reprocess_requested" in out

    sqs = deployment.aws("sqs")
    messages = sqs.receive_message(QueueUrl=deployment.names["queue"])["Messages"]
    refs = object_refs(
        {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": messages[0]["Body"]}]}
    ).refs
    assert [r.ledger_id for r in refs] == [ref.ledger_id]

    # The new attempt is a claim like any other; once loaded, the version is never redone.
    ledger = deployment.ledger()
    job = ledger.claim(refs[0], lease_ms=60_000, owner="req-2")
    assert job.attempt == 2
    assert not job.already_done
    job.finish(Outcome("loaded", "csv_postgres", {"rows_loaded": 1}), route="orders", timings={})
    for target in (f"{key}@{version}", key):
        code, _, err = deployment.ferry("reprocess", target)
        assert code == 1
        assert "never loaded twice" in err
    events = [h["event"] for h in ledger.get(ref.ledger_id)["history"]]
    assert events == ["finished", "reprocess_requested", "finished"]


def test_reprocess_of_a_deleted_version_is_refused(deployment) -> None:
    key = "incoming/gone.csv"
    version = deployment.put(key, b"x\n")
    _rejected(deployment, key, version)
    deployment.aws("s3").delete_object(Bucket=deployment.names["raw"], Key=key, VersionId=version)
    code, _, err = deployment.ferry("reprocess", f"{key}@{version}")
    assert code == 1
    assert "no longer exists" in err
    assert (
        deployment.ledger().get(f"s3://{deployment.names['raw']}/{key}#{version}")["status"]
        == "rejected"
    )


def test_redrive_moves_the_dlq_back_by_copy_on_an_emulator(deployment) -> None:
    sqs = deployment.aws("sqs")
    for i in range(13):
        sqs.send_message(QueueUrl=deployment.names["dlq"], MessageBody=json.dumps({"n": i}))
    code, out, err = deployment.ferry("redrive", "--by-copy")
    assert code == 0, err
    assert "COMPLETED: 13 message(s) moved" in out
    assert "13 of 13 moved" in err
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=deployment.names["queue"], MaxNumberOfMessages=10)
        if not got.get("Messages"):
            break
        bodies += [json.loads(m["Body"])["n"] for m in got["Messages"]]
    assert sorted(bodies) == list(range(13))
    attrs = sqs.get_queue_attributes(
        QueueUrl=deployment.names["dlq"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"


def test_redrive_in_aws_starts_a_move_task_and_reports_progress() -> None:
    """moto has no StartMessageMoveTask: the AWS path is checked against botocore's model."""
    import boto3

    sqs = boto3.client(
        "sqs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    dlq, queue = "arn:aws:sqs:eu-west-1:1:ferry-dlq", "arn:aws:sqs:eu-west-1:1:ferry"
    naps: list[float] = []
    with Stubber(sqs) as stub:
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "h"},
            {"SourceArn": dlq, "DestinationArn": queue, "MaxNumberOfMessagesPerSecond": 50},
        )
        for status, moved in (("RUNNING", 10), ("COMPLETED", 25)):
            stub.add_response(
                "list_message_move_tasks",
                {
                    "Results": [
                        {
                            "Status": status,
                            "ApproximateNumberOfMessagesMoved": moved,
                            "ApproximateNumberOfMessagesToMove": 25,
                        }
                    ]
                },
                {"SourceArn": dlq, "MaxResults": 1},
            )
        queues = Queues(sqs, sleep=naps.append)
        queues.start_move(dlq, queue, 50)
        progress = [(p.status, p.moved, p.to_move) for p in queues.wait_move(dlq)]
        stub.assert_no_pending_responses()
    assert progress == [("RUNNING", 10, 25), ("COMPLETED", 25, 25)]
    assert naps == [2.0]


def test_summary_counts_files_and_rows_by_route(deployment) -> None:
    _rejected(deployment, "incoming/a.csv", "v1")
    ledger = deployment.ledger()
    job = ledger.claim(
        ObjectRef(deployment.names["raw"], "incoming/b.csv", "v1"), lease_ms=9, owner="r"
    )
    job.finish(
        Outcome("loaded", "csv_postgres", {"rows_loaded": 40, "rows_rejected": 2}),
        route="orders",
        timings={},
    )
    code, out, _ = deployment.ferry("--json", "summary", "--since", "1h")
    data = json.loads(out)
    assert code == 0
    assert data["routes"]["orders"] == {
        "loaded": 1,
        "rejected": 1,
        "loaded_units": 40,
        "rejected_units": 3,
    }
    assert data["queues"]["dlq"] == {"waiting": 0, "in_flight": 0}
    code, out, _ = deployment.ferry("summary")
    assert "orders" in out
    assert "dlq: 0 waiting" in out


def test_configuration_from_outputs_flags_and_environment(tmp_path) -> None:
    local = {
        "table_names": {"value": {"ledger": "t"}, "type": "x", "sensitive": False},
        "queue_url": {"value": "q", "type": "string", "sensitive": False},
    }
    assert flatten(local) == {"table_names": {"ledger": "t"}, "queue_url": "q"}
    path = tmp_path / "o.json"
    path.write_text(json.dumps(local))
    d = resolve({"outputs": str(path), "queue_url": "flag"}, env={"FERRY_DLQ_URL": "env"})
    assert (d.ledger_table, d.queue_url, d.dlq_url, d.status_index) == (
        "t",
        "flag",
        "env",
        "status-time",
    )
    code = main(["--outputs", str(tmp_path / "missing.json"), "summary"])
    assert code == 2


def test_targets() -> None:
    assert parse_target("s3://b/k@x.csv", None).key == "k@x.csv"
    t = parse_target("in/a.csv@3Lg0123456789abcdef", "raw")
    assert (t.bucket, t.key, t.version_id) == ("raw", "in/a.csv", "3Lg0123456789abcdef")
    assert parse_target("s3://b/in/a.csv#null", None).ledger_id() == "s3://b/in/a.csv#null"


def test_the_ferry_command_is_installed_by_setup() -> None:
    """`make setup` installs the package, so `ferry` is on the virtualenv's PATH."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("ferry")
    assert script.is_file(), f"{script} is missing: `make setup` runs pip install -e ."
    out = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for command in ("status", "ls", "reprocess", "redrive", "summary"):
        assert command in out.stdout
