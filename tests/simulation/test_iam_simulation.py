"""Every service-to-service permission of the dev and prod plans (and of prod with the
malware gate and file notifications on), evaluated offline.

For each integration the identity policy, the resource policy and the KMS key
policy of the plan are evaluated together by @cloud-copilot/iam-simulate
(tools/iam-sim, one process per plan), with the request context AWS documents
for that integration (the page is cited per integration below). Each must be
allowed; look-alike requests (another account, bucket, queue, rule, trail or
log group) must be denied. Where AWS documents the context loosely, the case
follows AWS's documented example and says so in its note (policy/simulate.py).

Plans are made offline; values AWS assigns at apply are deterministic stand-ins
(policy/standin.py), the same in every policy that names them.

Integrations marked xfail(strict) are known defects of the modules: each
fails today, and turns this suite red (XPASS) once fixed, so the marker goes
with the fix.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict

import pytest

from policy.simulate import (
    INTEGRATIONS,
    Case,
    Decision,
    KnownPlan,
    build_cases,
    simulate,
    simulator_missing,
)
from tests.conftest import missing

pytestmark = pytest.mark.terraform

#: Integration -> the AWS page its request context and policies follow
#: (eventbridge-to-sqs: the findings rule's dead-letter queue).
DOCS: dict[str, str] = {kind: doc for kind, (_, doc) in INTEGRATIONS.items()}

#: Known defects of today's modules: these integrations fail until fixed.
DEFECTS: dict[str, str] = {}

#: Integrations made only of look-alikes that must be denied (nothing to allow):
#: what a principal must not get beyond what another integration allows it.
#: Macie needs kms:Decrypt alone ("Analyzing encrypted Amazon S3 objects with
#: Amazon Macie",
#: https://docs.aws.amazon.com/macie/latest/user/discovery-supported-encryption-types.html;
#: its Decrypt is the macie-to-keys case).
DENIED_ONLY = frozenset({"macie-least-privilege"})

#: Integrations every dev/prod plan has (an empty integration is a failure).
KINDS = tuple(DOCS)

#: Integrations only a plan with the malware gate on has (GuardDuty Malware Protection).
GATE_KINDS = frozenset({"malware-trust", "malware-role", "malware-key"})
#: Integrations a plan with the gate on lacks: the queue hears of scanned files from
#: EventBridge (GuardDuty's scan results), never from S3.
UNGATED_KINDS = frozenset({"s3-to-sqs-queue", "s3-to-sqs-key"})


@pytest.fixture(scope="session")
def decisions(known: KnownPlan) -> dict[str, list[Decision]]:
    """Every case of the plan, evaluated in one simulator process, by integration."""
    why = simulator_missing()
    if why:
        missing(why)
    by_kind: dict[str, list[Decision]] = defaultdict(list)
    for decision in simulate(build_cases(known)):
        by_kind[decision.case.kind].append(decision)
    return by_kind


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=DEFECTS[k]))
        if k in DEFECTS
        else k
        for k in KINDS
    ],
)
def test_integration(
    decisions: dict[str, list[Decision]], kind: str, request: pytest.FixtureRequest
) -> None:
    cases = decisions.get(kind, [])
    gated = request.node.callspec.params["known"] == "prod-gate"
    if (kind in GATE_KINDS and not gated) or (kind in UNGATED_KINDS and gated):
        assert not cases, f"{kind} with the malware gate {'on' if gated else 'off'}"
        return
    assert cases, f"the plan has no {kind} requests to evaluate"
    allowed = any(d.case.expect == "allowed" for d in cases)
    assert allowed != (kind in DENIED_ONLY), f"{kind}: allowed requests {allowed}?"
    wrong = [d.describe() for d in cases if not d.as_expected]
    assert not wrong, f"{kind} (see {DOCS[kind]}):\n" + "\n".join(wrong)


def test_file_notifications_are_simulated(
    decisions: dict[str, list[Decision]], request: pytest.FixtureRequest
) -> None:
    """With file notifications on, EventBridge -> each topic (and its key) from the rule on
    the file-event bus (``rule/<bus>/<rule>``) is among the cases, and passes."""
    if request.node.callspec.params["known"] != "prod-gate":
        pytest.skip("file notifications are on in the prod-gate plan only")
    topics = {f"ferry-prod-files-{k}" for k in ("success", "failure")}
    for kind in ("eventbridge-to-sns", "eventbridge-to-sns-key"):
        allowed = [
            d for d in decisions[kind] if "-files-" in d.case.id and d.case.expect == "allowed"
        ]
        assert {d.case.name.split(" -> ")[0] for d in allowed} == topics, kind
        assert all(d.as_expected for d in decisions[kind]), kind
    rules = {
        d.case.context["aws:SourceArn"].rsplit(":", 1)[1]
        for d in decisions["eventbridge-to-sns"]
        if "-files-" in d.case.id and d.case.expect == "allowed"
    }
    assert rules == {f"rule/ferry-prod-files/{t}" for t in topics}


def test_every_integration_is_checked_and_cited(decisions: dict[str, list[Decision]]) -> None:
    built = set(decisions)
    assert built <= set(KINDS), f"integrations without a test and a citation: {built - set(KINDS)}"
    assert set(DEFECTS) <= set(KINDS)
    assert set(KINDS) >= DENIED_ONLY
    assert all(url.startswith("https://docs.aws.amazon.com/") for url in DOCS.values())


def test_look_alikes_are_denied_for_every_service_principal(
    decisions: dict[str, list[Decision]],
) -> None:
    """Each integration with a service caller has at least one look-alike that must be denied."""
    for kind, cases in decisions.items():
        if any(d.case.principal.endswith(".amazonaws.com") for d in cases):
            assert any(d.case.expect == "denied" for d in cases), f"{kind}: no look-alike"


LOGS = "arn:aws:logs:eu-west-1:"


def test_simulator_decides_both_ways() -> None:
    """The simulator process itself: a matching statement allows, a look-alike is denied."""
    why = simulator_missing()
    if why:
        missing(why)
    queue = "arn:aws:sqs:eu-west-1:111111111111:q"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FromBucket",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue,
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::b"}},
            }
        ],
    }
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"{LOGS}111111111111:*"}
                },
            }
        ],
    }
    key = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"

    def send(source: str) -> Case:
        return Case(
            "t",
            source,
            "s3.amazonaws.com",
            "sqs:SendMessage",
            queue,
            "111111111111",
            "allowed",
            {"aws:SourceArn": source},
            resource_policy=policy,
        )

    def encrypt(account: str) -> Case:
        group = f"arn:aws:logs:eu-west-1:{account}:log-group:g"
        return Case(
            "k",
            account,
            "logs.eu-west-1.amazonaws.com",
            "kms:GenerateDataKey",
            key,
            "111111111111",
            "allowed",
            {"kms:EncryptionContext:aws:logs:arn": group},
            resource_policy=key_policy,
        )

    results = simulate(
        [
            send("arn:aws:s3:::b"),
            send("arn:aws:s3:::c"),
            encrypt("111111111111"),
            encrypt("222222222222"),
        ]
    )
    assert [d.allowed for d in results] == [True, False, True, False], [
        d.describe() for d in results
    ]


def _as_key_user(policy: dict) -> dict:
    """A key policy with its decrypt-only principals made key users (ferry's old form)."""
    statements = policy["Statement"]
    (decrypt_only,) = [s for s in statements if s.get("Sid") == "DecryptOnly"]
    (users,) = [s for s in statements if s.get("Sid") == "KeyUsers"]
    names = users["Principal"]["AWS"]
    names = [names] if isinstance(names, str) else names
    extra = decrypt_only["Principal"]["AWS"]
    users["Principal"]["AWS"] = names + ([extra] if isinstance(extra, str) else extra)
    return {**policy, "Statement": [s for s in statements if s is not decrypt_only]}


def test_macie_least_privilege_fails_on_the_old_key_policy(known: KnownPlan) -> None:
    """Macie's role as a key user (Decrypt, GenerateDataKey, DescribeKey) is caught."""
    why = simulator_missing()
    if why:
        missing(why)
    doc = copy.deepcopy(known.doc)
    changed = 0
    for rc in doc["resource_changes"]:
        after = rc["change"]["after"] or {}
        if rc["type"] == "aws_kms_key" and "DecryptOnly" in (after.get("policy") or ""):
            after["policy"] = json.dumps(_as_key_user(json.loads(after["policy"])))
            changed += 1
    assert changed, "no key policy names a decrypt-only principal"
    old = KnownPlan(doc, known.region, known.account)
    cases = [c for c in build_cases(old) if c.kind == "macie-least-privilege"]
    assert cases
    wrong = [d for d in simulate(cases) if not d.as_expected]
    assert wrong, "Macie as a key user must fail macie-least-privilege"
    assert all(d.case.action == "kms:GenerateDataKey" for d in wrong)
