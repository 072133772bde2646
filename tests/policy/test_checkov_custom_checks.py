"""ferry's custom checkov checks: unit pass/fail on resource configurations, and
a real checkov run over the fixture plans with --external-checks-dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from checkov.common.models.enums import CheckResult

from policy.checkov.macie_enabled import check as macie
from policy.checkov.sqs_policy_source_arn import check as sqs

REPO = Path(__file__).resolve().parents[2]
PLANS = REPO / "policy" / "fixtures" / "plans"


def _policy(statement: dict) -> list:
    return [{"Version": "2012-10-17", "Statement": [statement]}]


S3_SEND = {
    "Effect": "Allow",
    "Principal": {"Service": "s3.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": "arn:aws:sqs:eu-west-1:111122223333:intake",
}


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ({"status": ["ENABLED"]}, CheckResult.PASSED),
        ({}, CheckResult.PASSED),
        ({"status": ["PAUSED"]}, CheckResult.FAILED),
        ({"status": ["${var.macie_status}"]}, CheckResult.UNKNOWN),
    ],
)
def test_macie_enabled(conf, expected):
    assert macie.scan_resource_conf(conf) == expected


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        (
            {
                "policy": _policy(
                    {**S3_SEND, "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::raw"}}}
                )
            },
            CheckResult.PASSED,
        ),
        (
            {
                "policy": _policy(
                    {**S3_SEND, "Condition": {"ArnLike": {"AWS:SOURCEARN": "arn:aws:s3:::raw*"}}}
                )
            },
            CheckResult.PASSED,
        ),
        (
            {
                "policy": [
                    json.dumps(
                        _policy({**S3_SEND, "Condition": {"ArnEquals": {"aws:SourceArn": "x"}}})[0]
                    )
                ]
            },
            CheckResult.PASSED,
        ),
        (
            {
                "policy": _policy(
                    {**S3_SEND, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}
                )
            },
            CheckResult.PASSED,
        ),
        ({"policy": _policy({**S3_SEND, "Effect": "Deny"})}, CheckResult.PASSED),
        ({}, CheckResult.PASSED),
        ({"policy": _policy(S3_SEND)}, CheckResult.FAILED),
        (
            {
                "policy": _policy(
                    {
                        **S3_SEND,
                        "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
                    }
                )
            },
            CheckResult.FAILED,
        ),
        ({"policy": _policy({**S3_SEND, "Principal": "*"})}, CheckResult.FAILED),
        ({"policy": _policy({**S3_SEND, "Principal": {"AWS": ["*"]}})}, CheckResult.FAILED),
        ({"policy": ["${data.aws_iam_policy_document.queue.json}"]}, CheckResult.UNKNOWN),
    ],
)
def test_sqs_policy_source_arn(conf, expected):
    assert sqs.scan_resource_conf(conf) == expected


def _checkov(plan: Path) -> dict:
    exe = Path(sys.executable).parent / "checkov"
    proc = subprocess.run(
        [
            str(exe),
            "--skip-download",
            "--framework",
            "terraform_plan",
            "-f",
            str(plan),
            "--external-checks-dir",
            str(REPO / "policy" / "checkov"),
            "--check",
            "CKV_FERRY_1,CKV_FERRY_2",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        check=False,
        env=dict(os.environ, BC_SKIP_MAPPING="TRUE", EVAL_TF_PLAN_AFTER_UNKNOWN="true"),
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_runs_the_custom_checks_on_plans(tmp_path):
    insecure = _checkov(PLANS / "insecure.json")["results"]
    assert {(c["check_id"], c["resource"]) for c in insecure["failed_checks"]} == {
        ("CKV_FERRY_1", "aws_macie2_account.main"),
        ("CKV_FERRY_2", "aws_sqs_queue_policy.intake"),
    }
    secure = _checkov(PLANS / "secure.json")["results"]
    assert secure["failed_checks"] == []
    assert {(c["check_id"], c["resource"]) for c in secure["passed_checks"]} == {
        ("CKV_FERRY_1", "aws_macie2_account.main"),
        ("CKV_FERRY_2", "aws_sqs_queue_policy.intake"),
    }
