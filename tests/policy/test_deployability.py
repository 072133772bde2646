"""ferry's prod plan as of commit 61e67cd (the last layout before modules/ferry),
kept as a fixture: the review reports exactly the findings below on it.

The fixture was planned offline from `git archive 61e67cd modules environments
lambda_src` the way tests/test_environments.py plans an old layout. The
run-time consistency rules (FERRY-DEPLOY-001 to 004) find nothing on it: its
queue's visibility timeout is 6 x the function timeout (720 s for 120 s), batch
size 10 without a window, maximum concurrency 20 under 50 reserved, and the
queue redrives to its DLQ. What it gets is "could not evaluate" findings for
the processor role's policy and environment. The service-integration
simulation (policy.simulate, FERRY-DEPLOY-1xx, through
policy.review.simulation_violations) finds the two defects of that layout: S3
could not use the operational key of the queue it notifies (FERRY-DEPLOY-102)
and EventBridge could not use it for the encrypted findings topic
(FERRY-DEPLOY-104). The policies it cannot read at plan time are
FERRY-DEPLOY-UNKNOWN findings, never passes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.engine import Engine
from policy.review import simulation_violations
from policy.simulate import simulator_missing
from tests.conftest import missing

PLAN = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "plans" / "prod-61e67cd.json"

OLD_PROD_EXPECTED = {
    ("FERRY-IAM-UNKNOWN", "module.pipeline.aws_iam_role_policy.processor[0]"),
    ("FERRY-LAMBDA-UNKNOWN", "module.pipeline.aws_lambda_function.processor[0]"),
}
DATA_BUCKET = "module.storage.module.data_bucket"
OPERATIONAL_KEY = 'module.kms.aws_kms_key.this["operational"]'
SIMULATION_EXPECTED = {
    # AWS would refuse these at run time: the operational key policy of 61e67cd
    # has no statement for S3 (notifications to the encrypted queue) nor for
    # EventBridge (Macie findings to the encrypted topic).
    ("FERRY-DEPLOY-102", OPERATIONAL_KEY),
    ("FERRY-DEPLOY-104", OPERATIONAL_KEY),
    # policies and an environment known only after apply in that layout
    ("FERRY-DEPLOY-UNKNOWN", "module.audit.aws_cloudwatch_log_resource_policy.findings"),
    ("FERRY-DEPLOY-UNKNOWN", "module.audit.aws_iam_role_policy.trail"),
    ("FERRY-DEPLOY-UNKNOWN", "module.audit.aws_s3_bucket_policy.trail"),
    ("FERRY-DEPLOY-UNKNOWN", "module.audit.aws_sns_topic_policy.findings"),
    ("FERRY-DEPLOY-UNKNOWN", 'module.kms.aws_kms_key.this["storage"]'),
    ("FERRY-DEPLOY-UNKNOWN", "module.network.aws_iam_role_policy.flow_logs"),
    ("FERRY-DEPLOY-UNKNOWN", "module.pipeline.aws_lambda_function.processor[0]"),
    ("FERRY-DEPLOY-UNKNOWN", f"{DATA_BUCKET}[\"failed\"].aws_s3_bucket_policy.this[0]"),
    ("FERRY-DEPLOY-UNKNOWN", f"{DATA_BUCKET}[\"raw\"].aws_s3_bucket_policy.this[0]"),
}  # fmt: skip


@pytest.fixture(scope="module")
def simulated(old_prod) -> list:
    if simulator_missing():
        missing(simulator_missing() or "")
    return simulation_violations(old_prod)


@pytest.fixture(scope="module")
def old_prod() -> dict:
    return json.loads(PLAN.read_text())


def test_old_prod_plan_gets_exactly_the_expected_findings(old_prod, simulated):
    found = {v.key for v in Engine().evaluate(old_prod)}
    found |= {v.key for v in simulated}
    assert found == OLD_PROD_EXPECTED | SIMULATION_EXPECTED


def test_old_prod_findings_explain_the_refused_request(simulated):
    """Which request, what AWS decides and why (the deciding statements), the AWS page."""
    by_key = {v.key: v.message for v in simulated}
    s3 = by_key[("FERRY-DEPLOY-102", OPERATIONAL_KEY)]
    assert "s3.amazonaws.com kms:GenerateDataKey arn:aws:kms:eu-west-1:333333333333:key/" in s3
    assert "must be allowed, got ImplicitlyDenied" in s3
    assert "resource=ImplicitlyDenied" in s3
    assert "sqs-key-management.html" in s3
    events = by_key[("FERRY-DEPLOY-104", OPERATIONAL_KEY)]
    assert "events.amazonaws.com kms:GenerateDataKey" in events
    assert "sns-key-management.html" in events
    unknown = by_key[("FERRY-DEPLOY-UNKNOWN", "module.pipeline.aws_lambda_function.processor[0]")]
    assert "could not evaluate FERRY-DEPLOY-118" in unknown


def test_old_prod_plan_without_the_simulator_says_so(old_prod, monkeypatch):
    """No node: one FERRY-DEPLOY-100 finding, never a silent pass."""
    monkeypatch.setattr("policy.simulate.simulator_missing", lambda: "node is not on PATH (test)")
    found = {v.key: v.message for v in simulation_violations(old_prod)}
    assert ("FERRY-DEPLOY-100", "plan") in found
    assert "node is not on PATH (test)" in found[("FERRY-DEPLOY-100", "plan")]
    assert not any(k[0] in {"FERRY-DEPLOY-102", "FERRY-DEPLOY-104"} for k in found)


def test_old_prod_plan_is_consistent_at_run_time(old_prod):
    found = {v.key for v in Engine().evaluate(old_prod)}
    assert not {k for k in found if k[0].startswith("FERRY-DEPLOY-0")}


def test_deployability_rules_are_live_on_the_old_prod_plan(old_prod):
    """The same plan with the function timeout raised past what the queue allows."""
    for rc in old_prod["resource_changes"]:
        if rc["address"] == "module.pipeline.aws_lambda_function.processor[0]":
            rc["change"]["after"]["timeout"] = 900
    found = {v.key for v in Engine().evaluate(old_prod)}
    assert found - OLD_PROD_EXPECTED == {
        ("FERRY-DEPLOY-001", "module.pipeline.aws_sqs_queue.this"),
        ("FERRY-DEPLOY-002", "module.pipeline.aws_lambda_event_source_mapping.queue[0]"),
    }
