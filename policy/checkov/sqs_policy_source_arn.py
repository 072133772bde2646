"""CKV_FERRY_2: SQS queue policies admit AWS services only for a named source.

A statement that allows a service principal (s3.amazonaws.com,
events.amazonaws.com, sns.amazonaws.com, ...) or any principal to send to a
queue must carry an aws:SourceArn condition, or any bucket, rule or topic in
any account could feed the pipeline (the confused deputy problem). checkov's
CKV_AWS_168 only rejects anonymous principals.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _needs_source_arn(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        if "*" in _as_list(principal.get("AWS")):
            return True
        return bool(_as_list(principal.get("Service")))
    return False


def _has_source_arn(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator_block in condition.values():
        if isinstance(operator_block, dict) and any(
            str(key).lower() == "aws:sourcearn" for key in operator_block
        ):
            return True
    return False


def statements_without_source_arn(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """Allow statements that admit a service or anyone without aws:SourceArn."""
    out = []
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
            continue
        if _needs_source_arn(statement.get("Principal")) and not _has_source_arn(
            statement.get("Condition")
        ):
            out.append(statement)
    return out


class SQSPolicySourceArn(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure SQS queue policies admit services only with an aws:SourceArn condition",
            id="CKV_FERRY_2",
            categories=(CheckCategories.IAM,),
            supported_resources=("aws_sqs_queue_policy", "aws_sqs_queue"),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        raw = conf.get("policy")
        if not raw:
            return CheckResult.PASSED  # no policy: only the owning account can send
        policy = raw[0] if isinstance(raw, list) else raw
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except json.JSONDecodeError:
                return CheckResult.UNKNOWN  # an expression, or unknown until apply
        if not isinstance(policy, dict):
            return CheckResult.UNKNOWN
        return CheckResult.FAILED if statements_without_source_arn(policy) else CheckResult.PASSED

    def get_evaluated_keys(self) -> list[str]:
        return ["policy"]


check = SQSPolicySourceArn()
