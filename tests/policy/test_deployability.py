"""ferry's prod plan as of commit 61e67cd (the last layout before modules/ferry),
kept as a fixture: the review reports exactly the findings below on it.

The fixture was planned offline from `git archive 61e67cd modules environments
lambda_src` the way tests/test_environments.py plans an old layout. The
run-time consistency rules (FERRY-DEPLOY-001 to 004) find nothing on it: its
queue's visibility timeout is 6 x the function timeout (720 s for 120 s), batch
size 10 without a window, maximum concurrency 20 under 50 reserved, and the
queue redrives to its DLQ. What it gets is "could not evaluate" findings for
the processor role's policy and environment. The service-integration
simulation (policy.simulate, FERRY-DEPLOY-1xx) adds its own findings through
policy.review.simulation_violations; they are listed in SIMULATION_EXPECTED
once it exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.engine import Engine
from policy.review import simulation_violations

PLAN = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "plans" / "prod-61e67cd.json"

OLD_PROD_EXPECTED = {
    ("FERRY-IAM-UNKNOWN", "module.pipeline.aws_iam_role_policy.processor[0]"),
    ("FERRY-LAMBDA-UNKNOWN", "module.pipeline.aws_lambda_function.processor[0]"),
}
# filled in with the service-integration simulation's findings on this plan
SIMULATION_EXPECTED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def old_prod() -> dict:
    return json.loads(PLAN.read_text())


def test_old_prod_plan_gets_exactly_the_expected_findings(old_prod):
    found = {v.key for v in Engine().evaluate(old_prod)}
    found |= {v.key for v in simulation_violations(old_prod)}
    assert found == OLD_PROD_EXPECTED | SIMULATION_EXPECTED


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
