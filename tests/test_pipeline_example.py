"""The pipeline module's example, planned offline with the real provider.

The plan JSON must hold the real, fully known policy documents (the module
builds its own ARNs from names for exactly this), the function must be wired as
documented, and neither checkov (module and plans) nor ferry's Rego rules may
find anything to fail in either delivery mode.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ferry.config import load_config
from ferry_dev import build
from ferry_dev import terraform as tf
from policy.engine import Engine

pytestmark = [pytest.mark.terraform, pytest.mark.xdist_group("pipeline_example")]

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "modules" / "pipeline"
EXAMPLE = MODULE / "examples" / "basic"
PROCESSING_CONFIG = EXAMPLE / "processing.json"
ACCOUNT = "111122223333"
REGION = tf.OFFLINE_AWS_ENV["AWS_REGION"]
KEYS = {
    role: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000000{i}"
    for i, role in enumerate(("storage", "operational", "logs"), start=1)
}
BUCKETS = {role: f"ferry-example-{role}-{ACCOUNT}" for role in ("raw", "processed", "failed")}
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
SECURITY_GROUPS = ["sg-0a1b2c3d4e5f60003"]
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ferry-example-db-AbCdEf"
# Statements whose actions AWS only authorises on "*" (no resource-level permissions).
STAR_RESOURCE_SIDS = {"WriteTraces", "NetworkInterfaces"}
CHECKOV = Path(sys.executable).with_name("checkov")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small deployment zip and its base64 SHA-256 (what filebase64sha256 returns)."""
    path = tmp_path_factory.mktemp("package") / "ferry-x86_64.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ferry/__init__.py", '"""ferry"""\n')
    digest = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    return path, digest


@pytest.fixture(scope="module", params=["s3_notification", "eventbridge"])
def planned(request, tf_root, package, tmp_path_factory) -> dict:
    """Plan the example in one delivery mode; returns plan JSON and its file."""
    root = tf_root(EXAMPLE.relative_to(REPO), env=dict(tf.OFFLINE_AWS_ENV))
    out = tmp_path_factory.mktemp(f"plan-{request.param}")
    plan = root.plan_json(
        variables={
            "account_id": ACCOUNT,
            **{f"{role}_kms_key_arn": arn for role, arn in KEYS.items()},
            "bucket_names": BUCKETS,
            "subnet_ids": SUBNETS,
            "security_group_ids": SECURITY_GROUPS,
            "package_path": str(package[0]),
            "delivery": request.param,
            "database": {"host": "db.internal", "name": "ferry", "secret_arn": SECRET},
        },
        out_dir=out,
    )
    plan_file = out / "plan.json"
    plan_file.write_text(json.dumps(plan))
    return {"delivery": request.param, "plan": plan, "file": plan_file}


def after(plan: dict) -> dict[str, dict]:
    """Planned values by resource address, module prefix removed."""
    return {
        rc["address"].removeprefix("module.pipeline."): rc["change"]["after"]
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed"
    }


def listify(value) -> list:
    return value if isinstance(value, list) else [value]


def test_plan_creates_exactly_the_documented_resources(planned):
    resources = after(planned["plan"])
    common = {
        "aws_sqs_queue.this",
        "aws_sqs_queue.dlq",
        "aws_s3_bucket_notification.raw[0]",
        "aws_dynamodb_table.ledger",
        "aws_dynamodb_table.records",
        "aws_dynamodb_table.metadata",
        "aws_iam_role.processor[0]",
        "aws_iam_role_policy.processor[0]",
        "aws_cloudwatch_log_group.processor[0]",
        "aws_lambda_function.processor[0]",
        "aws_lambda_event_source_mapping.queue[0]",
        "aws_sns_topic.alarms[0]",
        'aws_cloudwatch_metric_alarm.queue["dlq-not-empty"]',
        'aws_cloudwatch_metric_alarm.queue["queue-oldest-message-age"]',
        'aws_cloudwatch_metric_alarm.function["function-errors"]',
        'aws_cloudwatch_metric_alarm.function["function-throttles"]',
        'aws_cloudwatch_metric_alarm.function["files-dead-lettered"]',
        'aws_cloudwatch_metric_alarm.function["deadletter-errors"]',
        "aws_iam_role.deadletter[0]",
        "aws_iam_role_policy.deadletter[0]",
        "aws_cloudwatch_log_group.deadletter[0]",
        "aws_lambda_function.deadletter[0]",
        "aws_lambda_event_source_mapping.deadletter[0]",
        # File events, the dashboard and the alarms on ferry's own metrics.
        "aws_cloudwatch_event_bus.files[0]",
        "aws_cloudwatch_dashboard.pipeline[0]",
        'aws_cloudwatch_metric_alarm.ferry["rejection-rate"]',
        'aws_cloudwatch_metric_alarm.ferry["batch-item-failures"]',
        'aws_cloudwatch_metric_alarm.ferry["file-events-refused"]',
    }
    eventbridge = {
        "aws_cloudwatch_event_rule.object_created[0]",
        "aws_cloudwatch_event_target.queue[0]",
    }
    expected = common | (eventbridge if planned["delivery"] == "eventbridge" else set())
    assert set(resources) == expected
    assert all(rc["change"]["actions"] == ["create"] for rc in planned["plan"]["resource_changes"])


def test_role_policy_is_known_at_plan_time_and_least_privilege(planned):
    doc = json.loads(after(planned["plan"])["aws_iam_role_policy.processor[0]"]["policy"])
    statements = {s["Sid"]: s for s in doc["Statement"]}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    actions = [a for s in statements.values() for a in listify(s["Action"])]
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    star = {sid for sid, s in statements.items() if "*" in listify(s["Resource"])}
    assert star == STAR_RESOURCE_SIDS
    assert set(listify(statements["WriteTraces"]["Action"])) == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    # Lambda's documented VPC permissions, on "*" and without conditions.
    assert set(listify(statements["NetworkInterfaces"]["Action"])) == {
        "ec2:AssignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:UnassignPrivateIpAddresses",
    }
    assert "Condition" not in statements["NetworkInterfaces"]
    assert set(listify(statements["UseDataKeys"]["Action"])) == {
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }
    # Every other resource is in this account/region or one of the named buckets.
    for sid, statement in statements.items():
        if sid in STAR_RESOURCE_SIDS:
            continue
        for arn in listify(statement["Resource"]):
            assert arn.startswith("arn:aws:"), (sid, arn)
            assert f":{ACCOUNT}:" in arn or arn.startswith("arn:aws:s3:::ferry-example-"), (
                sid,
                arn,
            )
    assert listify(statements["ReadDatabaseSecret"]["Resource"]) == [SECRET]
    assert set(listify(statements["UseDataKeys"]["Resource"])) == {
        KEYS["storage"],
        KEYS["operational"],
    }
    assert listify(statements["ConsumeIngestQueue"]["Resource"]) == [
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:ferry-example-ingest"
    ]


def test_role_trusts_only_lambda_in_this_account(planned):
    trust = json.loads(after(planned["plan"])["aws_iam_role.processor[0]"]["assume_role_policy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_queue_policy_matches_the_delivery_mode(planned):
    queue = after(planned["plan"])["aws_sqs_queue.this"]
    policy = json.loads(queue["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    (allow,) = allows
    if planned["delivery"] == "eventbridge":
        assert allow["Principal"] == {"Service": "events.amazonaws.com"}
        source = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ferry-example-object-created"
    else:
        assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
        source = f"arn:aws:s3:::{BUCKETS['raw']}"
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == source
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert queue["visibility_timeout_seconds"] == 6 * 120
    assert queue["kms_master_key_id"] == KEYS["operational"]


def test_delivery_configuration(planned):
    """Filters come from the route prefixes of processing.json, never from suffixes."""
    resources = after(planned["plan"])
    notification = resources["aws_s3_bucket_notification.raw[0]"]
    assert notification["bucket"] == BUCKETS["raw"]
    prefixes = sorted({r.prefix for r in load_config(PROCESSING_CONFIG).routes})
    assert prefixes == ["documents/", "incoming/telemetry/"]
    assert planned["plan"]["planned_values"]["outputs"]["routed_prefixes"]["value"] == prefixes
    if planned["delivery"] == "eventbridge":
        assert notification["eventbridge"] is True
        assert notification["queue"] == []
        pattern = json.loads(
            resources["aws_cloudwatch_event_rule.object_created[0]"]["event_pattern"]
        )
        assert pattern["detail"]["bucket"] == {"name": [BUCKETS["raw"]]}
        assert pattern["detail"]["object"]["key"] == [{"prefix": p} for p in prefixes]
    else:
        routes = [(q["filter_prefix"], q["filter_suffix"]) for q in notification["queue"]]
        assert routes == [(p, None) for p in prefixes]


def test_configuration_hash_is_the_packed_configurations(planned):
    """Terraform's sha256(file(...)) and the bytes `make build CONFIG=...` packs agree."""
    function = after(planned["plan"])["aws_lambda_function.processor[0]"]
    packed = build.packaged_config(PROCESSING_CONFIG)
    expected = hashlib.sha256(packed).hexdigest()
    assert packed == PROCESSING_CONFIG.read_bytes()
    assert function["environment"][0]["variables"]["FERRY_CONFIG_SHA256"] == expected
    outputs = planned["plan"]["planned_values"]["outputs"]
    assert outputs["processing_config_sha256"]["value"] == expected


def test_function_is_wired_as_documented(planned, package):
    resources = after(planned["plan"])
    function = resources["aws_lambda_function.processor[0]"]
    assert function["source_code_hash"] == package[1]
    assert function["filename"] == str(package[0])
    assert function["runtime"] == "python3.12"
    assert function["handler"] == "ferry.handler.handler"
    assert function["tracing_config"] == [{"mode": "Active"}]
    assert sorted(function["vpc_config"][0]["subnet_ids"]) == SUBNETS
    assert function["kms_key_arn"] == KEYS["operational"]
    assert function["logging_config"][0]["log_format"] == "JSON"
    assert function["environment"][0]["variables"] == {
        "FERRY_CONFIG_SHA256": hashlib.sha256(PROCESSING_CONFIG.read_bytes()).hexdigest(),
        "FERRY_LEDGER_TABLE": "ferry-example-ledger",
        "FERRY_RECORDS_TABLE": "ferry-example-records",
        "FERRY_METADATA_TABLE": "ferry-example-metadata",
        "FERRY_PROCESSED_BUCKET": BUCKETS["processed"],
        "FERRY_FAILED_BUCKET": BUCKETS["failed"],
        "FERRY_LEDGER_TTL_DAYS": "90",
        "FERRY_DB_HOST": "db.internal",
        "FERRY_DB_PORT": "5432",
        "FERRY_DB_NAME": "ferry",
        "FERRY_DB_AUTH": "secret",
        "FERRY_DB_SECRET_ARN": SECRET,
        "FERRY_EVENT_BUS": "ferry-example-files",
        "FERRY_EVENT_SOURCE": "ferry.ferry-example",
        "POWERTOOLS_SERVICE_NAME": "ferry",
    }
    log_group = resources["aws_cloudwatch_log_group.processor[0]"]
    assert log_group["name"] == "/aws/lambda/ferry-example-processor"
    assert log_group["kms_key_id"] == KEYS["logs"]
    mapping = resources["aws_lambda_event_source_mapping.queue[0]"]
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    # The log group and the role policy come first: Lambda never creates its own
    # log group, and the role can create network interfaces before the function does.
    config = planned["plan"]["configuration"]["root_module"]["module_calls"]["pipeline"]
    function_config = next(
        r for r in config["module"]["resources"] if r["address"] == "aws_lambda_function.processor"
    )
    assert set(function_config["depends_on"]) == {
        "aws_cloudwatch_log_group.processor",
        "aws_iam_role_policy.processor",
    }


def _eventbridge_deliver(event: dict, paths: dict[str, str], template: str) -> str:
    """What EventBridge sends the target: the template with each <variable> replaced.

    A variable whose value is a JSON object or number is inserted as JSON; a
    string is inserted as its text (here inside quotes in the template).
    """
    out = template
    for name, path in paths.items():
        value: object = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]  # type: ignore[index]
        text = value if isinstance(value, str) else json.dumps(value)
        out = out.replace(f"<{name}>", text)
    return out


def test_transformed_eventbridge_event_still_parses(planned):
    """The input transformer passes what ferry.intake reads, and nothing else."""
    if planned["delivery"] != "eventbridge":
        pytest.skip("S3 notifications are delivered untransformed")
    from ferry import intake

    target = after(planned["plan"])["aws_cloudwatch_event_target.queue[0]"]
    (transformer,) = target["input_transformer"]
    key = 'incoming/telemetry/dev "7"/r\u00e9sum\u00e9 +1.json'
    event = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2024-05-01T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKETS['raw']}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKETS["raw"]},
            "object": {
                "key": key,
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "198.51.100.7",
            "reason": "PutObject",
        },
    }
    body = _eventbridge_deliver(event, transformer["input_paths"], transformer["input_template"])
    delivered = json.loads(body)
    for stripped in ("requester", "198.51.100.7", "request-id", "reason"):
        assert stripped not in body
    sqs_event = {
        "Records": [
            {
                "messageId": "m-1",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:ferry-example-ingest",
                "body": json.dumps(delivered),
            }
        ]
    }
    parsed = intake.object_refs(sqs_event)
    assert parsed.bad == []
    (ref,) = parsed.refs
    assert (ref.bucket, ref.key, ref.version_id, ref.size, ref.etag, ref.sequencer) == (
        BUCKETS["raw"],
        key,
        "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        5,
        "b1946ac92492d2347c6235b4d2611184",
        "00617F08299329D189",
    )
    assert ref.event_time == "2024-05-01T12:00:00Z"
    # The dead-letter queue's ARN is known after apply; the target has one.
    assert len(target["dead_letter_config"]) == 1


def checkov(*args: str) -> dict:
    """Run checkov offline with the repository's settings; results by outcome."""
    proc = subprocess.run(
        [str(CHECKOV), "--skip-download", "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**tf.base_env(), "BC_SKIP_MAPPING": "TRUE"},
        cwd=REPO,  # the repository's .checkov.yaml: offline settings and ferry's custom checks
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    found: dict[str, list] = {"passed": [], "failed": [], "skipped": []}
    for report in reports:
        results = report.get("results", {})
        for kind in found:
            found[kind] += results.get(f"{kind}_checks", [])
    return found


def describe(results: list) -> list[str]:
    return [f"{r['check_id']} {r['resource']} ({r.get('file_path')})" for r in results]


# Checks that must be seen passing, so a scan that silently covers nothing fails.
MUST_PASS = {
    "CKV_AWS_27",  # SQS encrypted
    "CKV_AWS_50",  # Lambda X-Ray tracing
    "CKV_AWS_117",  # Lambda in a VPC
    "CKV_AWS_115",  # Lambda concurrency limit
    "CKV_AWS_173",  # Lambda environment encrypted with KMS
    "CKV_AWS_28",  # DynamoDB point-in-time recovery
    "CKV_AWS_119",  # DynamoDB encrypted with a CMK
    "CKV_AWS_158",  # log group encrypted with KMS
    "CKV_AWS_26",  # SNS encrypted
    "CKV_FERRY_2",  # ferry's own check: queue policies name the source (aws:SourceArn)
}
# The only inline skips in the module, each with its reason next to it in main.tf.
ALLOWED_SKIPS = {
    "CKV_AWS_116",
    "CKV_AWS_272",
    # Lambda's VPC network-interface actions on "*", as AWS documents them.
    "CKV_AWS_111",
    "CKV_AWS_290",
    "CKV_AWS_355",
    "CKV_AWS_356",
}


def test_checkov_finds_nothing_in_the_module():
    found = checkov("--framework", "terraform", "secrets", "-d", str(MODULE))
    assert not found["failed"], describe(found["failed"])
    assert not MUST_PASS - {r["check_id"] for r in found["passed"]}, "expected checks did not run"
    assert {r["check_id"] for r in found["skipped"]} <= ALLOWED_SKIPS


def test_checkov_finds_nothing_in_the_plan(planned):
    found = checkov(
        "--framework",
        "terraform_plan",
        "-f",
        str(planned["file"]),
        "--repo-root-for-plan-enrichment",
        str(REPO),
    )
    assert not found["failed"], describe(found["failed"])
    assert not MUST_PASS - {r["check_id"] for r in found["passed"]}, "expected checks did not run"
    assert {r["check_id"] for r in found["skipped"]} <= ALLOWED_SKIPS


def test_ferry_rego_policies_pass_the_plan(planned):
    engine = Engine()
    assert engine.evaluate(planned["plan"]) == []
    # The rules do look at the module's resources: weaken three of them and they object.
    weakened = copy.deepcopy(planned["plan"])
    for rc in weakened["resource_changes"]:
        values = rc["change"]["after"]
        if rc["type"] == "aws_sqs_queue":
            values["kms_master_key_id"] = None
        elif rc["type"] == "aws_lambda_function":
            values["tracing_config"] = []
        elif rc["type"] == "aws_dynamodb_table":
            values["point_in_time_recovery"] = [{"enabled": False}]
    flagged = {(v.rule_id.rsplit("-", 1)[0], v.address) for v in engine.evaluate(weakened)}
    assert {
        ("FERRY-SQS", "module.pipeline.aws_sqs_queue.this"),
        ("FERRY-SQS", "module.pipeline.aws_sqs_queue.dlq"),
        ("FERRY-LAMBDA", "module.pipeline.aws_lambda_function.processor[0]"),
        ("FERRY-DDB", "module.pipeline.aws_dynamodb_table.ledger"),
    } <= flagged
