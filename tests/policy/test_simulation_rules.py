"""The service-integration rules (FERRY-DEPLOY-100 to 129, policy.simulate) on
plan fixtures, with the exact findings.

Passing fixtures: policy/fixtures/plans/prod-known.json, today's prod plan with
every value known (planned over stand-ins by policy.standin.known_plan, so its
policies are readable), and prod-gate-known.json, the same with the malware gate
and file notifications on (policy/fixtures/roots/gate): no integration fails.
Both are made by `python -m policy.fixtures.regenerate`. Failing fixtures: for each
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

PLANS = Path(__file__).resolve().parents[2] / "policy" / "fixtures" / "plans"
PLAN = PLANS / "prod-known.json"
GATE_PLAN = PLANS / "prod-gate-known.json"
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
def gate(known: dict) -> dict:
    return json.loads(GATE_PLAN.read_text())


@pytest.fixture(scope="module")
def fixture_of(known: dict, gate: dict) -> dict[str, dict]:
    """Integration -> the passing fixture it is tested on (prod, else prod with the gate)."""
    out: dict[str, dict] = {}
    for doc in (known, gate):
        for case in build_cases(KnownPlan.filled(doc)):
            out.setdefault(case.kind, doc)
    return out


@pytest.fixture(scope="module")
def deciders(fixture_of: dict[str, dict]) -> dict[str, set[str]]:
    """Integration -> addresses of the resources that decide its allowed requests."""
    out: dict[str, set[str]] = defaultdict(set)
    for kind, doc in fixture_of.items():
        plan = KnownPlan.filled(doc)
        for case in build_cases(plan):
            if case.kind == kind and case.expect == "allowed":
                out[kind].add(_subject(plan, case))
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


def test_gate_plan_passes(gate):
    assert {v.key for v in violations(gate)} == KNOWN_DEFECTS


def test_every_integration_is_in_the_fixtures(known, gate):
    # eventbridge-to-sqs(-key): the findings rule's dead-letter queue
    built = {c.kind for c in build_cases(KnownPlan.filled(known))}
    gated = {c.kind for c in build_cases(KnownPlan.filled(gate))}
    assert set(INTEGRATIONS) - built == {"malware-trust", "malware-role", "malware-key"}
    # with the gate, the queue hears of scanned files from EventBridge, never from S3
    assert set(INTEGRATIONS) - gated == {"s3-to-sqs-queue", "s3-to-sqs-key"}
    # the file-notification topics: rules on the file-event bus
    topics = {
        c.context["aws:SourceArn"].rsplit(":", 1)[1]
        for c in build_cases(KnownPlan.filled(gate))
        if c.kind == "eventbridge-to-sns" and c.expect == "allowed" and "-files-" in c.resource
    }
    assert topics == {
        "rule/ferry-prod-files/ferry-prod-files-success",
        "rule/ferry-prod-files/ferry-prod-files-failure",
    }


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
def test_integration_fails_without_its_policies(fixture_of, deciders, kind):
    rid = INTEGRATIONS[kind][0]
    doc = fixture_of[kind]
    found = {v.key for v in violations(_emptied(doc, deciders[kind]))} - KNOWN_DEFECTS
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


def _policies(plan: dict, rtype: str, name: str) -> list[dict]:
    """The planned values of resources of a type whose name (or role) is ``name``."""
    return [
        rc["change"]["after"]
        for rc in plan["resource_changes"]
        if rc["type"] == rtype and name in ((rc["change"]["after"] or {}).get("name") or "")
    ]


def test_put_events_with_a_bare_string_operator_is_refused(known):
    """events:source is multivalued: StringEquals (no set operator) never matches it, so
    the functions could not publish (FERRY-DEPLOY-126 on both roles)."""
    plan = copy.deepcopy(known)
    for after in _policies(plan, "aws_iam_role_policy", "ferry-prod-"):
        policy = json.loads(after["policy"])
        for statement in policy["Statement"]:
            if statement.get("Sid") == "PublishFileEvents":
                statement["Condition"] = {"StringEquals": {"events:source": "ferry.ferry-prod"}}
        after["policy"] = json.dumps(policy)
    found = {v.key: v.message for v in violations(plan)}
    prefix = "module.ferry.module.pipeline.aws_iam_role"
    assert set(found) == {
        ("FERRY-DEPLOY-126", f"{prefix}.processor[0]"),
        ("FERRY-DEPLOY-126", f"{prefix}.deadletter[0]"),
    }
    assert "ferry.ferry-prod on its bus" in found[("FERRY-DEPLOY-126", f"{prefix}.processor[0]")]


def test_malware_trust_without_source_account_is_a_confused_deputy(gate):
    """Without aws:SourceAccount, a malware protection plan of another account could have
    GuardDuty assume the role (FERRY-DEPLOY-127)."""
    plan = copy.deepcopy(gate)
    (role,) = _policies(plan, "aws_iam_role", "ferry-prod-malware-protection")
    trust = json.loads(role["assume_role_policy"])
    for statement in trust["Statement"]:
        statement.pop("Condition", None)
    role["assume_role_policy"] = json.dumps(trust)
    found = {v.key: v.message for v in violations(plan)}
    address = "module.ferry.module.pipeline.aws_iam_role.malware[0]"
    assert set(found) == {("FERRY-DEPLOY-127", address)}
    assert "a plan of another account" in found[("FERRY-DEPLOY-127", address)]
