"""The Rego rules on ferry's own environments: no finding on dev, staging and
prod as planned, and the rules are live on them (a setting taken away from
the real plan is reported on exactly the resources that lost it)."""

from __future__ import annotations

import copy

import pytest

from policy import REPO
from policy.engine import Engine
from policy.plan import plan_environment

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


def test_no_findings_on_the_environment(engine, env_plan):
    env, plan = env_plan
    assert [v.message for v in engine.evaluate(plan)] == [], env


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
    assert {v.key for v in engine.evaluate(plan)} == expected
