"""parliament over every IAM identity policy of the dev and prod plans.

Findings of severity MEDIUM or above fail, and so do unknown actions and
service prefixes (LOW in parliament, but a typo in an action is a permission
that silently never applies). ALLOWED lists findings that are wrong, each with
the reason; an entry may stop matching once the policy changes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.simulate import KnownPlan
from tests.conftest import missing

try:
    import parliament
except ImportError:  # pragma: no cover - requirements-dev.txt installs it
    parliament = None

pytestmark = pytest.mark.terraform

FAILING_SEVERITIES = {"MEDIUM", "HIGH", "CRITICAL"}
ALWAYS_FAILING = {"UNKNOWN_ACTION", "UNKNOWN_PREFIX", "UNKNOWN_CONDITION_FOR_ACTION", "MALFORMED"}

#: (issue, action or condition text in the finding, why the finding is wrong)
ALLOWED: tuple[tuple[str, str, str], ...] = (
    (
        "RESOURCE_MISMATCH",
        "ec2:CreateNetworkInterface",
        "CreateNetworkInterface is authorised on the subnet, the security groups and the new "
        "interface at once; parliament reports each resource type a statement does not list, "
        "even when another statement of the policy covers it",
    ),
    (
        "UNKNOWN_CONDITION_FOR_ACTION",
        "ec2:Subnet",
        "ec2:Subnet is a condition key of the network-interface resource of "
        "CreateNetworkInterface in AWS's service authorization reference; parliament's "
        "bundled IAM data predates it",
    ),
)


@pytest.fixture(autouse=True)
def _parliament() -> None:
    if parliament is None:
        missing("parliament is not installed (requirements-dev.txt pins it)")


def _severity(issue: str) -> str:
    return str(parliament.config.get(issue, {}).get("severity", "MEDIUM")).upper()


def _allowed(issue: str, detail: Any) -> bool:
    text = json.dumps(detail, default=str)
    return any(issue == a_issue and needle in text for a_issue, needle, _ in ALLOWED)


def findings(policy: dict[str, Any]) -> list[tuple[str, str, Any]]:
    analysed = parliament.analyze_policy_string(
        json.dumps(policy), include_community_auditors=False
    )
    return [(f.issue, _severity(f.issue), f.detail) for f in analysed.findings]


def test_identity_policies_lint_clean(known: KnownPlan) -> None:
    policies = known.identity_policies()
    assert policies, "the plan has no identity policies"
    bad = [
        f"{address}: {issue} ({severity}) {detail}"
        for address, policy in policies.items()
        for issue, severity, detail in findings(policy)
        if (severity in FAILING_SEVERITIES or issue in ALWAYS_FAILING)
        and not _allowed(issue, detail)
    ]
    assert not bad, "\n".join(bad)


def test_lint_catches_an_unknown_action_and_a_resource_mismatch() -> None:
    """The lint itself can fail: a typo'd action and an object action on a bucket ARN."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"},
        ],
    }
    issues = {issue for issue, _, _ in findings(policy)}
    assert {"UNKNOWN_ACTION", "RESOURCE_MISMATCH"} <= issues


def test_allow_list_entries_give_reasons() -> None:
    assert all(len(reason) > 40 for _, _, reason in ALLOWED)
