"""The Rego engine itself: built-ins behave like OPA, the rules compile, the
compliance table is generated from the rules and up to date."""

from __future__ import annotations

import re

import pytest

from policy import compliance, engine
from policy.engine import REGO_DIR, Engine, self_test


def test_engine_built_ins_behave_like_opa():
    assert self_test() == []


def test_self_test_notices_a_wrong_answer(monkeypatch):
    monkeypatch.setattr(
        engine,
        "SELF_TEST",
        [('lower("Prod")', "Prod"), ('net.cidr_contains("10.0.0.0/8", "10.1.0.0/16")', True)],
    )
    problems = self_test()
    assert len(problems) == 2
    assert "returned 'prod'" in problems[0]
    assert "undefined or error" in problems[1]  # regopy returns undefined for net.cidr_*


def test_rego_files_are_conftest_style_v1_packages():
    files = sorted(REGO_DIR.glob("*.rego"))
    assert len(files) >= 12
    domains = set()
    for path in files:
        text = path.read_text()
        package = re.search(r"^package (\S+)$", text, re.M).group(1)
        assert package.startswith("ferry."), path
        assert "import rego.v1" in text, path
        assert "rego.metadata" not in text, f"{path}: regopy cannot evaluate rego.metadata"
        assert "net.cidr_" not in text, f"{path}: regopy returns undefined for net.cidr_*"
        assert not re.search(r"\(\?i\)", text), f"{path}: rego-cpp regexes have no (?i)"
        assert not re.search(r"\[[^\]\n]*\|\s*some \w+, \w+ in", text), (
            f"{path}: rego-cpp cannot parse `some k, v in` inside a comprehension"
        )
        if package != "ferry.lib":
            assert "deny contains msg if" in text, path
            assert re.search(r"^rules := \{", text, re.M), path
            domains.add(package)
    expected = {
        "s3",
        "kms",
        "iam",
        "network",
        "logging",
        "lambda",
        "sqs",
        "dynamodb",
        "rds",
        "secrets",
        "macie",
        "sns",
        "deploy",
        "containers",
    }
    assert domains == {f"ferry.{d}" for d in expected}


def test_one_compiled_engine_serves_many_plans():
    eng = Engine()
    empty = {"resource_changes": [], "configuration": {"root_module": {}}}
    assert eng.evaluate(empty) == []
    assert eng.evaluate(empty) == []


def test_compliance_table_is_up_to_date():
    assert compliance.OUT.read_text() == compliance.render(), (
        "policy/COMPLIANCE.md is out of date: run `python -m policy.compliance`"
    )


@pytest.mark.parametrize("rid", ["FERRY-S3-001", "FERRY-NET-001", "FERRY-LOG-003"])
def test_compliance_table_lists_rules_with_controls(rid):
    text = compliance.render()
    row = next(line for line in text.splitlines() if line.startswith(f"| {rid} |"))
    assert "CIS" in row or "FSBP" in row


def test_compliance_table_maps_cis_controls_v8():
    text = compliance.render()
    assert "| controls | CIS Controls v8 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| FERRY-S3-001 |"))
    assert row.endswith("| FSBP S3.17 | 3.11 |")
    # the reference design's controls 3, 5, 6, 8 and 11 each have rules
    for control in ("3.", "5.", "6.", "8.", "11."):
        assert f"| CIS8 {control}" in text, control
