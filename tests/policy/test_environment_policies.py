"""The Rego rules on ferry's own environments: exactly the expected findings on
dev, staging and prod as planned, and the rules are live on them (a setting
taken away from the real plan is reported on exactly the resources that lost
it).

The expected findings are the "could not evaluate" ones the modules still
cause: the processor and the migration get the endpoint of the RDS instance
created in the same apply (and the RDS-managed secret's ARN), values that exist
only after apply, and the AWS provider plans a variables map that holds one
unknown value as unknown as a whole. Key, queue, topic and log policies and
the roles' policies are known at plan time (ARNs built from names), so
FERRY-KMS, FERRY-SQS and FERRY-IAM evaluate them.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from policy import REPO
from policy import plan as plan_module
from policy.checks import checkov_available, finish_checkov, start_checkov
from policy.engine import Engine
from policy.plan import plan_environment, planning_copy
from policy.review import simulation_violations
from policy.simulate import simulator_missing
from tests.conftest import missing

ENVIRONMENTS = ("dev", "staging", "prod")

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(
    scope="module",
    params=[pytest.param(e, marks=pytest.mark.xdist_group(f"policy-{e}")) for e in ENVIRONMENTS],
)
def env_plan(request, terraform_ready, tmp_path_factory) -> tuple[str, dict]:
    env = request.param
    if not (REPO / "environments" / env / "main.tf").exists():
        pytest.fail(f"environments/{env} is missing")
    return env, plan_environment(env, tmp_path_factory.mktemp(f"plan-{env}"))


def _of_type(plan: dict, rtype: str) -> list[dict]:
    return [
        rc for rc in plan["resource_changes"] if rc["mode"] == "managed" and rc["type"] == rtype
    ]


PIPELINE = "module.ferry.module.pipeline"
# Findings ferry's own plans get because a value exists only after apply (the
# rules cannot evaluate them; see the module doc).
COULD_NOT_EVALUATE = {
    ("FERRY-LAMBDA-UNKNOWN", f"{PIPELINE}.aws_lambda_function.processor[0]"),
    ("FERRY-LAMBDA-UNKNOWN", f"{PIPELINE}.aws_lambda_function.migrate[0]"),
}


def test_only_could_not_evaluate_findings_on_the_environment(engine, env_plan):
    env, plan = env_plan
    found = {v.key for v in engine.evaluate(plan)}
    assert found == COULD_NOT_EVALUATE, env
    assert not any(rid.startswith("FERRY-DEPLOY-") for rid, _ in found)


def test_rules_are_live_on_the_environment(engine, env_plan):
    env, plan = env_plan
    plan = copy.deepcopy(plan)
    buckets = {rc["address"] for rc in _of_type(plan, "aws_s3_bucket")}
    keys = {rc["address"] for rc in _of_type(plan, "aws_kms_key")}
    assert buckets
    assert keys
    plan["resource_changes"] = [
        rc for rc in plan["resource_changes"] if rc["type"] != "aws_s3_bucket_versioning"
    ]
    for rc in _of_type(plan, "aws_kms_key"):
        rc["change"]["after"]["enable_key_rotation"] = False
    expected = {("FERRY-S3-002", b) for b in buckets} | {("FERRY-KMS-001", k) for k in keys}
    dbs = _of_type(plan, "aws_db_instance")
    if env == "prod":
        for rc in dbs:
            rc["change"]["after"]["deletion_protection"] = False
        expected |= {("FERRY-RDS-005", rc["address"]) for rc in dbs}
    assert {v.key for v in engine.evaluate(plan)} - COULD_NOT_EVALUATE == expected


def _set(plan: dict, address: str, attr: str, value) -> None:
    for rc in plan["resource_changes"]:
        if rc["address"] == address:
            rc["change"]["after"][attr] = value
            rc["change"]["after_unknown"].pop(attr, None)
            return
    raise AssertionError(f"no {address} in the plan")


def test_object_lock_rule_sees_ferrys_buckets(engine, env_plan):
    """FERRY-S3-008 reads ferry's bucket roles (ferry:bucket-role tag, module key)."""
    env, plan = env_plan
    plan = copy.deepcopy(plan)
    plan["resource_changes"] = [
        rc
        for rc in plan["resource_changes"]
        if rc["type"] != "aws_s3_bucket_object_lock_configuration"
    ]
    locked = {
        rc["address"]
        for rc in _of_type(plan, "aws_s3_bucket")
        if rc["change"]["after"]["tags_all"].get("ferry:bucket-role") in {"processed", "failed"}
    }
    assert len(locked) == 2
    found = {v.key for v in engine.evaluate(plan)} - COULD_NOT_EVALUATE
    assert found == ({("FERRY-S3-008", b) for b in locked} if env == "prod" else set())


def test_deployability_rules_are_live_on_the_environment(engine, env_plan):
    env, plan = env_plan
    plan = copy.deepcopy(plan)
    queue = f"{PIPELINE}.aws_sqs_queue.this"
    mapping = f"{PIPELINE}.aws_lambda_event_source_mapping.queue[0]"
    _set(plan, queue, "visibility_timeout_seconds", 30)
    _set(plan, mapping, "scaling_config", [{"maximum_concurrency": 1000}])
    found = {v.key for v in engine.evaluate(plan)} - COULD_NOT_EVALUATE
    assert found == {("FERRY-DEPLOY-001", queue), ("FERRY-DEPLOY-002", mapping),
                     ("FERRY-DEPLOY-003", mapping)}, env  # fmt: skip


def _add_statement(plan: dict, address: str, statement: dict) -> None:
    for rc in plan["resource_changes"]:
        if rc["address"] == address:
            doc = json.loads(rc["change"]["after"]["policy"])
            doc["Statement"].append(statement)
            rc["change"]["after"]["policy"] = json.dumps(doc)
            return
    raise AssertionError(f"no known policy of {address} in the plan")


def test_policy_rules_read_ferrys_keys_queues_and_roles(engine, env_plan):
    """Key, queue and role policies are known at plan time: a grant added to each is reported."""
    env, plan = env_plan
    plan = copy.deepcopy(plan)
    key = 'module.ferry.module.kms[0].aws_kms_key.this["storage"]'
    queue = f"{PIPELINE}.aws_sqs_queue.this"
    role_policy = f"{PIPELINE}.aws_iam_role_policy.processor[0]"
    _add_statement(
        plan,
        key,
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
    )
    _add_statement(
        plan,
        queue,
        {
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "*",
        },
    )
    processor_doc = f"{PIPELINE}.data.aws_iam_policy_document.processor"
    (doc,) = [rc for rc in plan["resource_changes"] if rc["address"] == processor_doc]
    doc["change"]["after"]["statement"].append(
        {"effect": "Allow", "actions": ["s3:*"], "resources": ["*"]}
    )
    found = {v.key for v in engine.evaluate(plan)} - COULD_NOT_EVALUATE
    assert {("FERRY-KMS-002", key), ("FERRY-SQS-003", queue)} <= found, env
    assert ("FERRY-IAM-001", role_policy) in found, env
    assert not {rid for rid, _ in found if rid.endswith("-UNKNOWN")}, env


# The service-integration simulation (FERRY-DEPLOY-1xx) on today's plans: no
# request AWS would refuse, no look-alike allowed. Key, queue, topic, role and
# log policies and the findings target name ARNs built from names, so they are
# read at plan time. What it cannot evaluate is what these offline plans
# create in the same apply and no name gives:
# - the processor's environment (the RDS address; FERRY-LAMBDA-UNKNOWN);
# - the bucket policies that compare uploads with the bucket's key ARN
#   (DenyOtherKmsKeys; the trail bucket's with the logs key): a key's ARN holds
#   its random id, known once the key exists. Planned against a state holding
#   the keys, or with existing_kms_key_arns, they are known (tested below);
# - the dead-letter role's policy, which names the operational key the same way.
# A FERRY-DEPLOY-1xx finding would mean AWS refuses a request.
AUDIT = "module.ferry.module.audit[0]"
KEYED_BUCKET_POLICIES = {
    ("FERRY-DEPLOY-UNKNOWN", f"{AUDIT}.module.trail_bucket[0].aws_s3_bucket_policy.this[0]"),
    ("FERRY-DEPLOY-UNKNOWN",
     'module.ferry.module.storage.module.data_bucket["failed"].aws_s3_bucket_policy.this[0]'),
    ("FERRY-DEPLOY-UNKNOWN",
     'module.ferry.module.storage.module.data_bucket["raw"].aws_s3_bucket_policy.this[0]'),
}  # fmt: skip
SIMULATION_COULD_NOT_EVALUATE = {
    ("FERRY-DEPLOY-UNKNOWN", f"{PIPELINE}.aws_lambda_function.processor[0]"),
    # the dead-letter role's policy (its file events, FERRY-DEPLOY-126) names the operational key
    ("FERRY-DEPLOY-UNKNOWN", f"{PIPELINE}.aws_iam_role_policy.deadletter[0]"),
    *KEYED_BUCKET_POLICIES,
}


def test_service_integrations_of_the_environment(env_plan):
    env, plan = env_plan
    why = simulator_missing()
    if why:
        missing(why)
    found = {v.key for v in simulation_violations(plan)}
    assert found == SIMULATION_COULD_NOT_EVALUATE, env


def test_keyed_bucket_policies_are_known_once_the_keys_exist(
    terraform_ready, tmp_path, monkeypatch
):
    """The bucket policies are unknown on the offline plans only because their
    keys are created in the same apply: dev planned with keys whose ARNs are
    known (existing_kms_key_arns; a plan against a state holding the keys sees
    them the same way) has every bucket policy known, and the simulation no
    longer reports them. (The keys' own policies are then outside the plan, so
    the requests that need them are reported on the plan instead.)"""
    why = simulator_missing()
    if why:
        missing(why)
    tfvars = (REPO / "environments" / "dev" / "terraform.tfvars").read_text()
    account = re.search(r'account_id\s*=\s*"(\d{12})"', tfvars)
    region = re.search(r'region\s*=\s*"([a-z0-9-]+)"', tfvars)
    assert account
    assert region
    prefix = f"arn:aws:kms:{region[1]}:{account[1]}:key"
    arns = ", ".join(
        f'{tier} = "{prefix}/{str(n) * 8}-1111-4111-8111-111111111111"'
        for n, tier in enumerate(("storage", "operational", "logs"), 1)
    )
    source = '  source = "../../modules/ferry"\n'
    existing = f"  existing_kms_key_arns = {{ {arns} }}\n"

    def with_existing_keys(env: str, base: Path, extra: tuple[Path, ...] = ()) -> Path:
        root = planning_copy(env, base, extra)
        main = root / "main.tf"
        assert source in main.read_text()
        main.write_text(main.read_text().replace(source, source + existing))
        return root

    monkeypatch.setattr(plan_module, "planning_copy", with_existing_keys)
    plan = plan_environment("dev", tmp_path)
    policies = _of_type(plan, "aws_s3_bucket_policy")
    assert {rc["address"] for rc in policies} >= {address for _, address in KEYED_BUCKET_POLICIES}
    for rc in policies:
        assert not rc["change"]["after_unknown"].get("policy"), rc["address"]
        assert json.loads(rc["change"]["after"]["policy"])["Statement"], rc["address"]
    found = {v.key for v in simulation_violations(plan)}
    assert found == {
        ("FERRY-DEPLOY-UNKNOWN", f"{PIPELINE}.aws_lambda_function.processor[0]"),
        ("FERRY-DEPLOY-UNKNOWN", "plan"),  # the keys' policies: not in this plan
    }


def test_checkov_reads_the_planning_copy_as_the_whole_project(env_plan, tmp_path):
    """The review lets checkov read the configuration from the planning copy (the
    environment beside modules/) instead of the whole project: the same findings
    and the same inline `#checkov:skip` suppressions, a fraction of the parsing."""
    env, plan = env_plan
    if env != "dev":
        pytest.skip("one environment is enough: checkov runs twice here")
    if not checkov_available():
        missing("checkov is not installed")
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    config = REPO / ".checkov.yaml"
    copy_root = planning_copy(env, tmp_path / "root").parents[1]
    by_copy = finish_checkov(start_checkov(plan_path, config, enrich=copy_root))
    by_project = finish_checkov(start_checkov(plan_path, config))

    def keys(checks: list[dict]) -> set[tuple[str, str]]:
        return {(c["check_id"], c["resource"]) for c in checks}

    assert by_copy.skipped, "no inline skip read: the enrichment found no configuration"
    assert keys(by_copy.skipped) == keys(by_project.skipped)
    assert keys(by_copy.failed) == keys(by_project.failed)
    assert by_copy.passed == by_project.passed
