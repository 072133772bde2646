"""The review as its own package (policy/pyproject.toml): the console script
resolves, every Rego file and custom check ships, and `ferry-review plan.json`
reviews a plan with the Rego rules alone when checkov is absent."""

from __future__ import annotations

import importlib
import tomllib
from fnmatch import fnmatch

from policy import REPO
from policy import review as review_module

PYPROJECT = tomllib.loads((REPO / "policy" / "pyproject.toml").read_text())


def test_console_script_resolves():
    target = PYPROJECT["project"]["scripts"]["ferry-review"]
    module, func = target.split(":")
    assert callable(getattr(importlib.import_module(module), func))


def test_package_carries_its_rules_and_checks():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"policy": "."}
    assert "policy.checkov" in setuptools["packages"]
    patterns = setuptools["package-data"]["policy"]
    for rego in (REPO / "policy" / "rego").glob("*.rego"):
        assert any(fnmatch(f"rego/{rego.name}", p) for p in patterns), rego.name
    assert PYPROJECT["project"]["dependencies"] == ["regopy>=1.5,<2"]


def test_console_reviews_a_plan_without_checkov(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(review_module, "checkov_available", lambda: False)
    plan = REPO / "policy" / "fixtures" / "plans" / "insecure.json"
    assert review_module.console([str(plan), "--out-dir", str(tmp_path)]) == 1
    assert review_module.console([str(plan), "--out-dir", str(tmp_path), "--fail-on", "critical"])
    secure = REPO / "policy" / "fixtures" / "plans" / "secure.json"
    assert review_module.console([str(secure), "--out-dir", str(tmp_path / "s")]) == 0
    assert "checkov is not installed; Rego rules only" in capsys.readouterr().err
    assert (tmp_path / "s" / "results.sarif").exists()
