"""The plan review end to end: plan the deliberately insecure root, run Rego and
checkov, and check the verdict, the exact findings and the three reports."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ferry_dev import terraform as tf
from policy.checks import CheckovResult, config_skips
from policy.engine import Engine
from policy.render import markdown
from policy.review import main, review
from policy.summary import Review, changes
from tests.policy.test_policy_rules import INSECURE_REVIEW_EXPECTED

REPO = Path(__file__).resolve().parents[2]
PLANS = REPO / "policy" / "fixtures" / "plans"


def _addresses(plan: dict) -> set[tuple[str, str]]:
    return {(rc["address"], rc["type"]) for rc in plan["resource_changes"]}


@pytest.fixture(scope="module")
def insecure_plan(tf_root) -> dict:
    root = tf_root("tests/fixtures/insecure_root", env=dict(tf.OFFLINE_AWS_ENV))
    return root.plan_json()


@pytest.fixture(scope="module")
def insecure_review(insecure_plan, tmp_path_factory) -> tuple[Review, Path]:
    out = tmp_path_factory.mktemp("review")
    result = review(
        insecure_plan,
        "insecure_root",
        out,
        artifact="tests/fixtures/insecure_root/main.tf",
        checkov_config=REPO / ".checkov.yaml",
    )
    return result, out


@pytest.mark.terraform
def test_committed_insecure_plan_is_current(insecure_plan):
    assert _addresses(insecure_plan) == _addresses(
        json.loads((PLANS / "insecure.json").read_text())
    )


@pytest.mark.terraform
def test_committed_secure_plan_is_current(tf_root):
    root = tf_root("policy/fixtures/roots/secure", env=dict(tf.OFFLINE_AWS_ENV))
    live = root.plan_json()
    assert _addresses(live) == _addresses(json.loads((PLANS / "secure.json").read_text()))
    assert Engine().evaluate(live) == []


@pytest.mark.terraform
def test_review_fails_with_the_expected_findings(insecure_review):
    result, _ = insecure_review
    assert result.failed
    assert {v.key for v in result.violations} == INSECURE_REVIEW_EXPECTED
    failed = {(c["check_id"], c["resource"]) for c in result.checkov.failed}
    assert ("CKV_FERRY_1", "aws_macie2_account.main") in failed
    assert ("CKV_FERRY_2", "aws_sqs_queue_policy.intake") in failed
    assert {c["resource"] for c in result.checkov.failed} >= {
        "aws_security_group.ssh",
        "aws_db_instance.public",
        "aws_lambda_function.processor",
    }


@pytest.mark.terraform
def test_markdown_report(insecure_review):
    result, out = insecure_review
    text = (out / "report.md").read_text()
    assert text.startswith("# Plan review: insecure_root\n")
    assert f"**FAILED**: {len(result.blocking)} blocking finding(s) at or above low" in text
    assert "56 policy violation(s)" in text
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections[:3] == ["## Destructive changes", "## Findings", "## Changes"]
    assert "None: nothing is deleted or replaced." in text
    assert "<details><summary>create: 26</summary>" in text
    for v in result.violations:
        assert f"| {v.severity} | {v.rule_id} | `{v.address}` |" in text
    for c in result.checkov.failed:
        assert f"| {c['check_id']} | `{c['resource']}` |" in text


@pytest.mark.terraform
def test_sarif_report(insecure_review):
    result, out = insecure_review
    doc = json.loads((out / "results.sarif").read_text())
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert set(result.rules) <= set(ids)
    # a fact both engines found is one result
    assert len(run["results"]) == len(result.findings)
    assert len(result.findings) < len(result.violations) + len(result.checkov.failed)
    merged = [r for r in run["results"] if len(r["properties"]["ruleIds"]) > 1]
    assert merged, "no fact found by both engines on the insecure root"
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"}
        assert res["message"]["text"]
        (loc,) = res["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == (
            "tests/fixtures/insecure_root/main.tf"
        )
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
        assert loc["logicalLocations"][0]["fullyQualifiedName"]


@pytest.mark.terraform
def test_junit_report(insecure_review):
    result, out = insecure_review
    root = ET.parse(out / "junit.xml").getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"rego", "checkov"}
    rego = suites["rego"]
    assert int(rego.get("tests")) == len(result.rules) == len(rego.findall("testcase"))
    failing = {
        c.get("name").split()[0] for c in rego.findall("testcase") if c.find("failure") is not None
    }
    assert failing == {rid for rid, _ in INSECURE_REVIEW_EXPECTED}
    assert int(rego.get("failures")) == len(failing)
    checkov = suites["checkov"]
    assert int(checkov.get("failures")) == len(result.checkov.failed)
    assert int(root.get("failures")) == len(failing) + len(result.checkov.failed)


def test_cli_on_a_given_plan_exit_codes(tmp_path, capsys):
    assert (
        main(
            [
                "review",
                "--plan",
                str(PLANS / "secure.json"),
                "--out-dir",
                str(tmp_path / "s"),
                "--no-checkov",
            ]
        )
        == 0
    )
    assert "PASSED" in capsys.readouterr().out
    assert (
        main(
            [
                "review",
                "--plan",
                str(PLANS / "insecure.json"),
                "--out-dir",
                str(tmp_path / "i"),
                "--no-checkov",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "FAILED: 56 blocking finding(s)" in out
    assert "FERRY-IAM-003 (critical): aws_iam_policy.admin:" in out
    (tmp_path / "bad.json").write_text('{"not": "a plan"}')
    assert (
        main(["review", "--plan", str(tmp_path / "bad.json"), "--out-dir", str(tmp_path / "b")])
        == 2
    )


def test_destructive_changes_come_first(tmp_path):
    plan = json.loads((PLANS / "secure.json").read_text())
    plan = copy.deepcopy(plan)
    for rc in plan["resource_changes"]:
        if rc["address"] == "aws_db_instance.main":
            rc["change"]["actions"] = ["delete", "create"]
            rc["action_reason"] = "replace_because_cannot_update"
            rc["change"]["replace_paths"] = [["engine_version"]]
        if rc["address"] == "aws_sqs_queue.dlq":
            rc["change"]["actions"] = ["delete"]
    result = review(plan, "patched", tmp_path, artifact="plan.json", use_checkov=False)
    text = (tmp_path / "report.md").read_text()
    destructive = text.split("## Destructive changes", 1)[1].split("## Changes", 1)[0]
    assert "**2 resource(s) will be destroyed or replaced.**" in destructive
    assert "| delete | `aws_sqs_queue.dlq` |" in destructive
    assert (
        "| replace | `aws_db_instance.main` | replace_because_cannot_update "
        "(forces replacement: engine_version) |" in destructive
    )
    assert changes(plan)["replace"] == [
        {
            "address": "aws_db_instance.main",
            "type": "aws_db_instance",
            "reason": "replace_because_cannot_update",
            "replace_paths": ["engine_version"],
        }
    ]
    assert not result.failed


def test_config_level_skips_are_listed(tmp_path):
    config = tmp_path / ".checkov.yaml"
    config.write_text("# why: dev is single-AZ\nskip-check:\n  - CKV_AWS_157\n  - CKV_AWS_293\n")
    name, skips = config_skips(config)
    assert skips == ["CKV_AWS_157", "CKV_AWS_293"]
    plan = json.loads((PLANS / "secure.json").read_text())
    result = review(plan, "s", tmp_path / "out", artifact="plan.json", use_checkov=False)
    result.checkov = CheckovResult(config=name, config_skips=skips)
    text = markdown(result)
    assert (
        f"Not run, as `{name}` says (its comments give the reasons): CKV_AWS_157, CKV_AWS_293."
        in text
    )
    assert config_skips(None) == ("", [])
