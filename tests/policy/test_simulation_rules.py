"""The service-integration rules (FERRY-DEPLOY-100 to 125, policy.simulate) on
plan fixtures, with the exact findings.

Passing fixture: policy/fixtures/plans/prod-known.json, today's prod plan with
every value known (planned over stand-ins by policy.standin.known_plan, so its
policies are readable): no integration fails. Failing fixtures: for each
integration, the same plan with the policies that decide its requests emptied
(its rule fires on those resources), for Macie's object reads a bucket policy
that refuses every reader but the processor, and for the least-privilege rule a
key policy that gives Macie more than Decrypt. FAILING names the failing
fixture of every simulated rule (tests/policy/test_policy_rules.py counts a
rule covered only through it).
The in-memory filling is checked on the same plan with its values made
unknown again.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path

import pytest

from policy.simulate import (
    COULD_NOT_EVALUATE,
    INTEGRATIONS,
    NOT_RUN,
    KnownPlan,
    _subject,
    build_cases,
    simulator_missing,
    violations,
)
from tests.conftest import missing

PLAN = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "plans" / "prod-known.json"
STORAGE_KEY = 'module.ferry.module.kms[0].aws_kms_key.this["storage"]'
KNOWN_DEFECTS: set[tuple[str, str]] = set()
EMPTY = json.dumps({"Version": "2012-10-17", "Statement": []})
POLICY_ATTRS = ("policy", "assume_role_policy", "policy_document")


@pytest.fixture(scope="module")
def known() -> dict:
    if simulator_missing():
        missing(simulator_missing() or "")
    return json.loads(PLAN.read_text())


@pytest.fixture(scope="module")
def deciders(known: dict) -> dict[str, set[str]]:
    """Integration -> addresses of the resources that decide its allowed requests."""
    plan = KnownPlan.filled(known)
    out: dict[str, set[str]] = defaultdict(set)
    for case in build_cases(plan):
        if case.expect == "allowed":
            out[case.kind].add(_subject(plan, case))
    return out


def _emptied(plan: dict, addresses: set[str]) -> dict:
    """The plan with every policy of these resources (and of their policy resources) empty."""
    plan = copy.deepcopy(plan)
    after = {rc["address"]: rc["change"]["after"] for rc in plan["resource_changes"]}
    names = {a: (after[a] or {}) for a in addresses if a in after}
    links = {v.get(k) for v in names.values() for k in ("url", "arn", "bucket", "name") if v.get(k)}
    for rc in plan["resource_changes"]:
        value = rc["change"]["after"] or {}
        linked = any(value.get(k) in links for k in ("queue_url", "arn", "bucket", "role"))
        is_policy = rc["type"].endswith(("_policy", "_queue_policy", "_topic_policy"))
        if rc["address"] in addresses or (is_policy and linked):
            for attr in POLICY_ATTRS:
                if isinstance(value.get(attr), str) and value[attr]:
                    value[attr] = EMPTY
    return plan


def test_known_plan_passes(known):
    assert {v.key for v in violations(known)} == KNOWN_DEFECTS


def test_every_integration_is_in_the_fixture(known):
    # eventbridge-to-sqs(-key): the findings rule's dead-letter queue
    built = {c.kind for c in build_cases(KnownPlan.filled(known))}
    assert set(INTEGRATIONS) == built


#: Integrations whose failing fixture is the plan with their policies emptied (Macie's
#: object reads are granted by AWS's managed policy, not by one of the plan's, and
#: the least-privilege rule needs a policy granting more, not less).
EMPTIED = sorted(set(INTEGRATIONS) - {"macie-least-privilege", "macie-to-objects"})

#: Simulated rule -> the test here that makes it fire on a failing fixture.
FAILING: dict[str, str] = {
    **{INTEGRATIONS[k][0]: f"test_integration_fails_without_its_policies[{k}]" for k in EMPTIED},
    INTEGRATIONS["macie-to-objects"][0]: "test_macie_refused_by_a_bucket_policy",
    INTEGRATIONS["macie-least-privilege"][0]: "test_macie_beyond_decrypt_is_a_finding",
    NOT_RUN: "test_simulator_missing_is_a_finding",
    COULD_NOT_EVALUATE: "test_unknown_policy_is_could_not_evaluate",
}


def test_every_failing_fixture_named_is_a_test():
    for rid, name in FAILING.items():
        function, _, param = name.partition("[")
        assert callable(globals().get(function)), (rid, name)
        if param:
            marks = globals()[function].pytestmark
            (values,) = [m.args[1] for m in marks if m.name == "parametrize"]
            assert param.rstrip("]") in values, (rid, name)


@pytest.mark.parametrize("kind", EMPTIED)
def test_integration_fails_without_its_policies(known, deciders, kind):
    rid = INTEGRATIONS[kind][0]
    found = {v.key for v in violations(_emptied(known, deciders[kind]))} - KNOWN_DEFECTS
    assert (rid, sorted(deciders[kind])[0]) in found, found
    assert all(r.startswith("FERRY-DEPLOY-1") for r, _ in found), found


def test_unknown_policy_is_could_not_evaluate(known):
    plan = copy.deepcopy(known)
    bucket_policy = (
        'module.ferry.module.storage.module.data_bucket["raw"].aws_s3_bucket_policy.this[0]'
    )
    for rc in plan["resource_changes"]:
        if rc["address"] == bucket_policy:
            rc["change"]["after"]["policy"] = None
            rc["change"]["after_unknown"]["policy"] = True
    found = {v.key: v.message for v in violations(plan)}
    assert set(found) == KNOWN_DEFECTS | {(COULD_NOT_EVALUATE, bucket_policy)}
    assert "FERRY-DEPLOY-118" in found[(COULD_NOT_EVALUATE, bucket_policy)]


def test_unknown_arns_are_filled_from_names_and_references(known):
    """ARNs AWS assigns made unknown again: the filling finds the same values."""
    plan = copy.deepcopy(known)
    for rc in plan["resource_changes"]:
        if rc["type"] in ("aws_sqs_queue", "aws_sns_topic", "aws_iam_role", "aws_cloudtrail"):
            for attr in ("arn", "url", "id"):
                if attr in rc["change"]["after"]:
                    rc["change"]["after"][attr] = None
                    rc["change"]["after_unknown"][attr] = True
    assert {v.key for v in violations(plan)} == KNOWN_DEFECTS


def test_simulator_missing_is_a_finding(known, monkeypatch):
    monkeypatch.setattr("policy.simulate.simulator_missing", lambda: "no node here")
    found = {v.key for v in violations(known)}
    assert found == {(NOT_RUN, "plan")}


def test_macie_refused_by_a_bucket_policy(known):
    """A raw bucket refusing every reader but the processor refuses Macie too (a Deny
    outweighs the managed policy's Allow): its sensitive-data job cannot read."""
    plan = copy.deepcopy(known)
    bucket_policy = (
        'module.ferry.module.storage.module.data_bucket["raw"].aws_s3_bucket_policy.this[0]'
    )
    for rc in plan["resource_changes"]:
        if rc["address"] == bucket_policy:
            after = rc["change"]["after"]
            policy = json.loads(after["policy"])
            policy["Statement"].append(
                {
                    "Sid": "OnlyTheProcessorReads",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{after['bucket']}/*",
                    "Condition": {
                        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ferry-*-processor"}
                    },
                }
            )
            after["policy"] = json.dumps(policy)
    found = {v.key: v.message for v in violations(plan)}
    assert set(found) == {("FERRY-DEPLOY-115", bucket_policy)}
    assert "deny[OnlyTheProcessorReads]" in found[("FERRY-DEPLOY-115", bucket_policy)]


def test_macie_beyond_decrypt_is_a_finding(known):
    plan = copy.deepcopy(known)
    for rc in plan["resource_changes"]:
        if rc["address"] == STORAGE_KEY:
            policy = json.loads(rc["change"]["after"]["policy"])
            policy["Statement"].append(
                {
                    "Sid": "TooMuch",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "kms:GenerateDataKey*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": "333333333333"}},
                }
            )
            rc["change"]["after"]["policy"] = json.dumps(policy)
    found = {v.key: v.message for v in violations(plan)}
    assert set(found) == {("FERRY-DEPLOY-117", STORAGE_KEY)}
    assert "must be denied, got Allowed" in found[("FERRY-DEPLOY-117", STORAGE_KEY)]
    assert "allow[TooMuch]" in found[("FERRY-DEPLOY-117", STORAGE_KEY)]
