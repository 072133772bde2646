"""Every Rego rule against plan-JSON fixtures, asserting the exact violations.

Fixtures: the compliant plan (policy/fixtures/plans/secure.json, planned from
policy/fixtures/roots/secure), the insecure plan (tests/fixtures/insecure_root)
and the cases in policy/fixtures/cases.json, each a small patch of the
compliant plan with the exact set of (rule id, resource address) it must
produce.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from policy.engine import REGO_DIR, SEVERITIES, Engine, PolicyError
from policy.simulate import INTEGRATIONS, NOT_RUN
from tests.policy.test_simulation_rules import FAILING as SIMULATED_FAILING

#: Rules evaluated by policy.simulate (declared in policy/rego/deploy.rego)
SIMULATED = {rid for rid, _ in INTEGRATIONS.values()} | {NOT_RUN}

REPO = Path(__file__).resolve().parents[2]
PLANS = REPO / "policy" / "fixtures" / "plans"
CASES = json.loads((REPO / "policy" / "fixtures" / "cases.json").read_text())

INSECURE_EXPECTED = {
    ("FERRY-DDB-001", "aws_dynamodb_table.ledger"),
    ("FERRY-DDB-002", "aws_dynamodb_table.ledger"),
    ("FERRY-IAM-001", "aws_iam_role_policy.wide"),
    ("FERRY-IAM-002", "aws_iam_role_policy.wide"),
    ("FERRY-IAM-003", "aws_iam_policy.admin"),
    ("FERRY-IAM-003", "aws_iam_role_policy_attachment.admin"),
    ("FERRY-IAM-004", "aws_iam_role.open"),
    ("FERRY-IAM-005", "aws_iam_user.ci"),
    ("FERRY-IAM-006", "aws_iam_access_key.ci"),
    ("FERRY-KMS-001", "aws_kms_key.weak"),
    ("FERRY-KMS-002", "aws_kms_key.weak"),
    ("FERRY-LAMBDA-001", "aws_lambda_function.processor"),
    ("FERRY-LAMBDA-002", "aws_lambda_function.processor"),
    ("FERRY-LAMBDA-003", "aws_lambda_function.processor"),
    ("FERRY-LAMBDA-004", "aws_lambda_function.processor"),
    ("FERRY-LAMBDA-005", "aws_lambda_function.processor"),
    ("FERRY-LAMBDA-006", "aws_lambda_function_url.processor"),
    ("FERRY-LAMBDA-007", "aws_lambda_permission.anyone"),
    ("FERRY-LOG-001", "aws_cloudwatch_log_group.app"),
    ("FERRY-LOG-002", "aws_cloudwatch_log_group.app"),
    ("FERRY-LOG-003", "aws_cloudtrail.main"),
    ("FERRY-LOG-004", "aws_cloudtrail.main"),
    ("FERRY-LOG-005", "aws_cloudtrail.main"),
    ("FERRY-LOG-006", "aws_cloudtrail.main"),
    ("FERRY-MACIE-001", "aws_macie2_account.main"),
    ("FERRY-NET-001", "aws_security_group.ssh"),
    ("FERRY-NET-002", "aws_security_group.ssh"),
    ("FERRY-NET-003", "aws_subnet.private"),
    ("FERRY-NET-004", "aws_vpc.main"),
    ("FERRY-NET-005", "aws_vpc.main"),
    ("FERRY-NET-006", "aws_db_instance.public"),
    ("FERRY-NET-007", "aws_network_acl_rule.ssh"),
    ("FERRY-RDS-001", "aws_db_instance.public"),
    ("FERRY-RDS-002", "aws_db_instance.public"),
    ("FERRY-RDS-003", "aws_db_instance.public"),
    ("FERRY-RDS-004", "aws_db_instance.public"),
    ("FERRY-RDS-005", "aws_db_instance.public"),
    ("FERRY-RDS-006", "aws_db_instance.public"),
    ("FERRY-RDS-007", "aws_db_instance.public"),
    ("FERRY-S3-001", "aws_s3_bucket.processed"),
    ("FERRY-S3-002", "aws_s3_bucket.processed"),
    ("FERRY-S3-003", "aws_s3_bucket.processed"),
    ("FERRY-S3-004", "aws_s3_bucket.processed"),
    ("FERRY-S3-005", "aws_s3_bucket.processed"),
    ("FERRY-S3-006", "aws_s3_bucket.processed"),
    ("FERRY-S3-007", "aws_s3_bucket.processed"),
    ("FERRY-S3-008", "aws_s3_bucket.processed"),
    ("FERRY-S3-009", "aws_s3_bucket_acl.processed"),
    ("FERRY-S3-010", "aws_s3_bucket_policy.processed"),
    ("FERRY-SEC-001", "aws_secretsmanager_secret.api"),
    ("FERRY-SEC-002", "aws_db_instance.public"),
    ("FERRY-SQS-001", "aws_sqs_queue.intake"),
    ("FERRY-SQS-002", "aws_sqs_queue.intake"),
    ("FERRY-SQS-003", "aws_sqs_queue_policy.intake"),
}

#: What the review adds on the insecure root: the service-integration simulation
#: (policy.simulate). Its trail writes into a bucket whose policy lets no trail in
#: (CreateTrail fails: InsufficientS3BucketPolicyException).
INSECURE_SIMULATED = {
    ("FERRY-DEPLOY-110", "aws_s3_bucket_policy.processed"),
}
INSECURE_REVIEW_EXPECTED = INSECURE_EXPECTED | INSECURE_SIMULATED


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def load(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text())


def _walk_set(obj, path, value):
    for key in path[:-1]:
        obj = obj.setdefault(key, {}) if isinstance(obj, dict) else obj[key]
    obj[path[-1]] = value


def _walk_drop(obj, path):
    for key in path[:-1]:
        obj = obj.get(key, {}) if isinstance(obj, dict) else obj[key]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)


def apply_patch(plan: dict, patch: list[dict]) -> dict:
    """Apply a case's patch operations to a copy of the plan."""
    plan = copy.deepcopy(plan)
    by_address = {rc["address"]: rc for rc in plan["resource_changes"]}
    for op in patch:
        kind = op["op"]
        if kind == "add":
            plan["resource_changes"].append(copy.deepcopy(op["resource"]))
            continue
        if kind == "add_config":
            plan["configuration"]["root_module"]["resources"].append(copy.deepcopy(op["config"]))
            continue
        rc = by_address[op["address"]]  # a KeyError means the case names no such resource
        if kind == "remove":
            plan["resource_changes"].remove(rc)
        elif kind == "set":
            _walk_set(rc["change"]["after"], op["path"], op["value"])
        elif kind == "known":
            _walk_drop(rc["change"]["after_unknown"], op["path"])
        elif kind == "unknown":  # known only after apply: true in after_unknown, gone from after
            _walk_set(rc["change"]["after_unknown"], op["path"], op.get("value", True))
            _walk_drop(rc["change"]["after"], op["path"])
        elif kind == "actions":
            rc["change"]["actions"] = op["value"]
        else:
            raise AssertionError(f"unknown patch op {kind!r}")
    return plan


def found(engine: Engine, plan: dict) -> set[tuple[str, str]]:
    return {v.key for v in engine.evaluate(plan)}


def test_compliant_plan_has_no_violations(engine):
    assert engine.evaluate(load("secure")) == []


def test_insecure_plan_has_exactly_the_expected_violations(engine):
    assert found(engine, load("insecure")) == INSECURE_EXPECTED


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(engine, case):
    plan = apply_patch(load("secure"), case["patch"])
    assert found(engine, plan) == {tuple(e) for e in case["expect"]}, case["description"]


def test_every_rule_has_a_failing_fixture(engine):
    fired = {rid for rid, _ in INSECURE_EXPECTED}
    fired |= {e[0] for c in CASES for e in c["expect"]}
    # the service-integration simulation's rules (policy.simulate) fire on the failing
    # fixtures tests/policy/test_simulation_rules.py names
    fired |= set(SIMULATED_FAILING)
    assert set(engine.rules) - fired == set()


def test_compliant_plan_exercises_every_resource_type_the_rules_read(engine):
    """A rule can only pass on the compliant plan if the plan has what it reads."""
    types = {rc["type"] for rc in load("secure")["resource_changes"]}
    read = set()
    for path in REGO_DIR.glob("*.rego"):
        read |= set(re.findall(r'of_type\("(aws_[a-z0-9_]+)"\)', path.read_text()))
    optional = {  # resources the compliant shape avoids on purpose
        "aws_s3_bucket_acl",
        "aws_iam_user",
        "aws_iam_access_key",
        "aws_lambda_function_url",
        "aws_lambda_permission",
        "aws_rds_cluster",
        "aws_rds_cluster_parameter_group",
        "aws_sqs_queue_redrive_policy",
        "aws_sqs_queue_redrive_allow_policy",
        "aws_iam_policy",
        "aws_security_group_rule",  # aws_vpc_security_group_ingress_rule is used instead
        # The container lane's resources: a known state machine definition is
        # validated by the provider with the Step Functions API during plan, so the
        # offline fixture root cannot plan one; cases.json's containers_compliant
        # adds compliant ones (expecting no finding) instead.
        "aws_ecs_task_definition",
        "aws_ecs_service",
        "aws_sfn_state_machine",
    }
    assert read - optional - types == set()


def test_messages_name_rule_severity_address_and_fix(engine):
    for v in engine.evaluate(load("insecure")):
        assert v.message.startswith(f"{v.rule_id} ({v.severity}): {v.address}: ")
        assert ";" in v.message, f"no 'how to fix' part: {v.message}"


def test_rule_metadata(engine):
    rules = engine.rules
    assert len(rules) >= 40
    for rid, rule in rules.items():
        assert re.fullmatch(r"FERRY-[A-Z0-9]+-(\d{3}|UNKNOWN)", rid)
        assert rule.severity in SEVERITIES
        assert rule.title
        assert rule.package.startswith("ferry.")
        for control in rule.controls:
            assert re.fullmatch(
                r"(CIS \d+(\.\d+)+|CIS8 \d+\.\d+|FSBP [A-Za-z0-9]+\.\d+)", control
            ), control


def test_every_declared_rule_can_fire_and_every_fired_rule_is_declared(engine):
    used = set()
    for path in REGO_DIR.glob("*.rego"):
        used |= set(
            re.findall(
                r'lib\.(?:unknown_)?msg\(rules, "(FERRY-[A-Z0-9]+-(?:\d{3}|UNKNOWN))"',
                path.read_text(),
            )
        )
    assert used | SIMULATED == set(engine.rules)
    assert not used & SIMULATED, "FERRY-DEPLOY-1xx are the simulation's, not a Rego rule's"


def test_unknown_values_do_not_raise_alarms(engine):
    """A bucket whose settings are all unknown-after-apply but referenced in configuration."""
    plan = load("secure")
    for rc in plan["resource_changes"]:
        if rc["type"].startswith("aws_s3_bucket_"):
            assert rc["change"]["after_unknown"].get("bucket") is True
    assert found(engine, plan) == set()


def test_prod_detection_falls_back_to_the_environment_variable(engine):
    plan = apply_patch(
        load("secure"),
        [
            {
                "op": "remove",
                "address": 'module.buckets.aws_s3_bucket_object_lock_configuration.data["failed"]',
            }
        ],
    )
    failed = 'module.buckets.aws_s3_bucket.data["failed"]'
    for rc in plan["resource_changes"]:
        if rc["address"] == failed:
            del rc["change"]["after"]["tags_all"]["Environment"]
    assert found(engine, plan) == {("FERRY-S3-008", failed)}
    plan["variables"]["environment"]["value"] = "staging"
    assert found(engine, plan) == set()


def test_malformed_messages_are_rejected(tmp_path):
    (tmp_path / "bad.rego").write_text(
        'package ferry.bad\n\nimport rego.v1\n\nrules := {"FERRY-BAD-001": {"severity": "low", '
        '"title": "t", "controls": []}}\n\ndeny contains "no prefix here" if true\n'
    )
    with pytest.raises(PolicyError, match="prefix"):
        Engine(tmp_path).evaluate({"resource_changes": []})


def test_severity_must_match_metadata(tmp_path):
    (tmp_path / "bad.rego").write_text(
        'package ferry.bad\n\nimport rego.v1\n\nrules := {"FERRY-BAD-001": {"severity": "low", '
        '"title": "t", "controls": []}}\n\n'
        'deny contains "FERRY-BAD-001 (high): x.y: wrong; fix" if true\n'
    )
    with pytest.raises(PolicyError, match="declared low"):
        Engine(tmp_path).evaluate({"resource_changes": []})
