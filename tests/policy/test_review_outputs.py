"""The review's outputs without a Terraform run: findings merged across the two
engines, waivers (applied, expired, unused), --fail-on, SARIF locations at the
resource's block, summary.json and the sticky pull-request comment."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from policy import REPO, ReviewError
from policy.checks import CheckovResult
from policy.comment import MARKER, build
from policy.findings import Waiver, load_waivers
from policy.render import OFFLINE_BANNER, sarif
from policy.review import main, review

PLANS = REPO / "policy" / "fixtures" / "plans"
SECURE_ROOT = REPO / "policy" / "fixtures" / "roots" / "secure"
RAW = 'module.buckets.aws_s3_bucket.data["raw"]'
TRAIL = "aws_cloudtrail.main"


def _plan() -> dict:
    """The compliant plan with raw's versioning suspended and the trail not logging."""
    plan = json.loads((PLANS / "secure.json").read_text())
    for rc in plan["resource_changes"]:
        if rc["address"] == 'module.buckets.aws_s3_bucket_versioning.data["raw"]':
            rc["change"]["after"]["versioning_configuration"][0]["status"] = "Suspended"
        if rc["address"] == TRAIL:
            rc["change"]["after"]["enable_logging"] = False
    return plan


def _checkov(*pairs: tuple[str, str]) -> CheckovResult:
    return CheckovResult(
        failed=[{"check_id": c, "resource": r, "check_name": f"{c} fails"} for c, r in pairs]
    )


def _review(tmp_path: Path, checkov: CheckovResult | None = None, **kw) -> object:
    result = review(
        _plan(), "fixture", tmp_path, artifact="plan.json", use_checkov=False,
        root_dir=SECURE_ROOT, **kw,
    )  # fmt: skip
    if checkov is not None:
        from policy.findings import merge

        result.checkov = checkov
        result.findings = merge(result.violations, checkov.failed)
    return result


def test_a_fact_found_by_both_engines_is_one_finding_with_both_ids(tmp_path):
    result = _review(tmp_path, _checkov(("CKV_AWS_21", RAW), ("CKV_AWS_144", RAW)))
    by_addr = {(tuple(f.ids), f.address) for f in result.findings}
    assert by_addr == {
        (("FERRY-S3-002", "CKV_AWS_21"), RAW),
        (("CKV_AWS_144",), RAW),
        (("FERRY-LOG-007",), TRAIL),
    }
    doc = sarif(result)
    (run,) = doc["runs"]
    assert len(run["results"]) == 3
    merged = next(r for r in run["results"] if r["ruleId"] == "FERRY-S3-002")
    assert merged["properties"]["ruleIds"] == ["FERRY-S3-002", "CKV_AWS_21"]
    assert merged["properties"]["engines"] == ["rego", "checkov"]
    assert "also CKV_AWS_21" in merged["message"]["text"]


def test_sarif_points_at_the_block_of_each_resource(tmp_path):
    result = _review(tmp_path)
    (run,) = sarif(result)["runs"]
    where = {
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r["locations"][0][
            "physicalLocation"
        ]
        for r in run["results"]
    }
    module_file = "policy/fixtures/roots/secure/modules/buckets/main.tf"
    lines = (REPO / module_file).read_text().splitlines()
    raw = where[RAW]
    assert raw["artifactLocation"]["uri"] == module_file
    assert lines[raw["region"]["startLine"] - 1].startswith('resource "aws_s3_bucket" "data"')
    trail = where[TRAIL]
    assert trail["artifactLocation"]["uri"] == "policy/fixtures/roots/secure/main.tf"
    root_lines = (SECURE_ROOT / "main.tf").read_text().splitlines()
    assert root_lines[trail["region"]["startLine"] - 1] == 'resource "aws_cloudtrail" "main" {'
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


def _waiver(rule: str, resource: str, expires: dt.date) -> Waiver:
    return Waiver(rule, resource, "accepted risk, see the record", "platform", expires)


def test_waivers_applied_expired_and_listed(tmp_path):
    later = dt.date.today() + dt.timedelta(days=30)
    earlier = dt.date.today() - dt.timedelta(days=1)
    result = _review(
        tmp_path / "a",
        waivers=[_waiver("FERRY-S3-002", "module.buckets.*", later),
                 _waiver("FERRY-LOG-007", "aws_cloudtrail.*", later)],
    )  # fmt: skip
    assert not result.failed
    assert [f.address for _, f in result.waivers.applied] == [RAW, TRAIL]
    text = (tmp_path / "a" / "report.md").read_text()
    assert "## Waivers applied" in text
    assert "| FERRY-S3-002 | `" + RAW in text
    result = _review(
        tmp_path / "b",
        waivers=[_waiver("FERRY-S3-002", "module.buckets.*", later),
                 _waiver("FERRY-LOG-007", "aws_cloudtrail.*", earlier)],
    )  # fmt: skip
    assert result.failed
    assert [w.rule for w in result.waivers.expired] == ["FERRY-LOG-007"]
    assert [f.rule_id for f in result.blocking] == ["FERRY-LOG-007"]
    assert "## Expired waivers" in (tmp_path / "b" / "report.md").read_text()


def test_fail_on_threshold(tmp_path):
    # FERRY-LOG-007 is high, FERRY-S3-002 medium
    assert _review(tmp_path / "h", fail_on="high").failed
    result = _review(tmp_path / "c", fail_on="critical")
    assert not result.failed
    assert len(result.open_findings) == 2


def test_waivers_file(tmp_path):
    path = tmp_path / "waivers.toml"
    path.write_text(
        '[[waiver]]\nrule = "FERRY-MACIE-001"\nresource = "aws_macie2_account"\n'
        'reason = "the organisation runs Macie"\nowner = "security"\nexpires = 2030-01-31\n'
    )
    (w,) = load_waivers(path)
    assert (w.rule, w.expires) == ("FERRY-MACIE-001", dt.date(2030, 1, 31))
    path.write_text('[[waiver]]\nrule = "FERRY-MACIE-001"\nresource = "x"\n')
    with pytest.raises(ReviewError, match="lacks expires, owner, reason"):
        load_waivers(path)


def test_cli_waivers_and_fail_on(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan()))
    args = ["review", "--plan", str(plan), "--no-checkov", "--out-dir", str(tmp_path / "o")]
    assert main(args) == 1
    assert main([*args, "--fail-on", "critical"]) == 0
    waivers = tmp_path / "w.toml"
    waivers.write_text(
        '[[waiver]]\nrule = "FERRY-LOG-007"\nresource = "aws_cloudtrail.main"\nreason = "r"\n'
        'owner = "o"\nexpires = 2000-01-01\n'
    )
    assert main([*args, "--fail-on", "critical", "--waivers", str(waivers)]) == 1
    assert "EXPIRED waiver" in capsys.readouterr().out


def _summary(target: str, **over) -> dict:
    s = {
        "target": target, "verdict": "PASSED", "offline": False, "fail_on": "low",
        "counts": {"create": 1}, "destructive": [], "findings": [], "waived": [],
        "expired_waivers": [],
    }  # fmt: skip
    s.update(over)
    return s


def test_sticky_comment_shape(tmp_path):
    result = _review(tmp_path, offline=True)
    from_review = json.loads((tmp_path / "summary.json").read_text())
    assert from_review["offline"] is True
    assert {tuple(f["ids"]) for f in from_review["findings"]} == {
        ("FERRY-S3-002",),
        ("FERRY-LOG-007",),
    }
    assert (tmp_path / "report.md").read_text().splitlines()[2] == OFFLINE_BANNER
    prod = _summary(
        "prod",
        verdict="FAILED",
        destructive=[{"action": "replace", "address": "aws_db_instance.main",
                      "reason": "replace_because_cannot_update", "replace_paths": ["engine"]}],
    )  # fmt: skip
    text = build([from_review | {"target": "dev"}, _summary("staging"), prod], "https://run")
    assert text.startswith(MARKER + "\n# Plan review\n")
    assert "> **Offline plans (dev).**" in text
    # environments with destructive changes first, each in its own collapsible section
    order = [line for line in text.splitlines() if line.startswith("<summary>")]
    assert [o.split("<b>")[1].split(":")[0] for o in order] == ["prod", "dev", "staging"]
    prod_section = text.split("<summary><b>prod")[1].split("</details>")[0]
    assert prod_section.index("**Destructive changes**") < prod_section.index("Plan:")
    assert (
        "| replace | `aws_db_instance.main` | replace_because_cannot_update "
        "(forces replacement: engine) |" in prod_section
    )
    dev_section = text.split("<summary><b>dev")[1].split("</details>")[0]
    assert "| high | FERRY-LOG-007 | `aws_cloudtrail.main` |" in dev_section
    assert text.count("<details") == text.count("</details>") == 3
    assert result.failed


def test_comment_is_cut_below_githubs_limit():
    many = [
        {"ids": ["FERRY-S3-002"], "severity": "medium", "address": f"b{i}" * 20,
         "message": "m", "blocking": True}
        for i in range(3000)
    ]  # fmt: skip
    text = build([_summary("dev", findings=copy.deepcopy(many), verdict="FAILED")])
    assert len(text) <= 65000
    assert text.rstrip().endswith("_(truncated: the full reports are in the run's artifacts)_")
