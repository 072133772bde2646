"""CKV_FERRY_1: a Macie account resource enables Macie (status ENABLED).

checkov has no Macie check. An aws_macie2_account whose status is PAUSED keeps
the account but stops every classification job and finding.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class MacieEnabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Amazon Macie is enabled (aws_macie2_account status ENABLED)",
            id="CKV_FERRY_1",
            categories=(CheckCategories.LOGGING,),
            supported_resources=("aws_macie2_account",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        status = conf.get("status", ["ENABLED"])
        value = status[0] if isinstance(status, list) and status else status
        if value is None:
            return CheckResult.PASSED  # the provider's default is ENABLED
        if not isinstance(value, str):
            return CheckResult.UNKNOWN
        if value.startswith("${"):
            return CheckResult.UNKNOWN  # an expression checkov could not resolve (HCL scans)
        return CheckResult.PASSED if value == "ENABLED" else CheckResult.FAILED

    def get_evaluated_keys(self) -> list[str]:
        return ["status"]


check = MacieEnabled()
