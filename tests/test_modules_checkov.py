"""checkov over every module and every module example, statically (HCL).

Every directory under modules/ that holds Terraform, and every
modules/*/examples/* root, must scan with zero failed checks. A module added
later is picked up automatically. The only accepted skips are inline
``#checkov:skip=<ID>:<reason>`` comments with a real reason; each scan must
also be seen passing a few checks, so a scan that silently covers nothing
fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ferry_dev import terraform as tf

REPO = Path(__file__).resolve().parents[1]
MODULES = REPO / "modules"
CHECKOV = Path(sys.executable).with_name("checkov")

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
MIN_REASON = 20  # characters: a reason, not a shrug

# Checks that must be seen passing in a module's own scan (not its examples),
# where the module is known to carry the fact.
MUST_PASS = {
    "kms": {"CKV_AWS_7", "CKV_AWS_33", "CKV2_AWS_64"},
    "database": {
        "CKV_AWS_16",  # storage encrypted
        "CKV_AWS_17",  # not publicly accessible
        "CKV_AWS_157",  # Multi-AZ
        "CKV_AWS_293",  # deletion protection
        "CKV_AWS_161",  # IAM authentication
        "CKV_AWS_129",  # log exports
        "CKV_AWS_354",  # Performance Insights encrypted with a CMK
        "CKV2_AWS_30",  # query logging
        "CKV_AWS_158",  # exported log groups encrypted with KMS
    },
    "network": {
        "CKV2_AWS_11",  # VPC flow logs
        "CKV2_AWS_12",  # default security group closed
        "CKV_AWS_130",  # no public IPs on launch
        "CKV_AWS_158",  # log group encrypted with KMS
        "CKV_AWS_338",  # log retention of at least a year
        "CKV_AWS_23",  # security groups and rules described
        "CKV_AWS_382",  # no unrestricted egress
    },
    "bucket": {
        "CKV_AWS_21",  # versioning
        "CKV_AWS_145",  # SSE-KMS by default (the standard kind)
        "CKV2_AWS_6",  # public access block
        "CKV2_AWS_61",  # lifecycle
        "CKV_AWS_18",  # access logging
        "CKV_AWS_300",  # abort incomplete multipart uploads
        "CKV2_AWS_65",  # ACLs disabled
    },
    "storage": {
        "CKV_AWS_21",  # versioning
        "CKV_AWS_145",  # SSE-KMS by default
        "CKV2_AWS_6",  # public access block
        "CKV2_AWS_61",  # lifecycle
        "CKV_AWS_18",  # access logging
        "CKV_AWS_300",  # abort incomplete multipart uploads
        "CKV2_AWS_65",  # ACLs disabled
    },
}


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir() and any(p.glob("*.tf")))


def example_dirs() -> list[Path]:
    return sorted(p for p in MODULES.glob("*/examples/*") if p.is_dir() and any(p.glob("*.tf")))


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def checkov(*args: str) -> dict[str, list]:
    """Run checkov offline; return passed, failed and skipped results of all reports."""
    proc = subprocess.run(
        [str(CHECKOV), "--skip-download", "--framework", "terraform", "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**tf.base_env(), "BC_SKIP_MAPPING": "TRUE"},
        cwd=REPO,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    found: dict[str, list] = {"passed": [], "failed": [], "skipped": []}
    for report in reports:
        assert report.get("summary", {}).get("parsing_errors", 0) == 0, report.get("summary")
        results = report.get("results", {})
        for kind in found:
            found[kind] += results.get(f"{kind}_checks", [])
    return found


def describe(results: list) -> list[str]:
    return [
        f"{r['check_id']} {r['resource']} ({r.get('file_path')}:{r.get('file_line_range')})"
        for r in results
    ]


def assert_clean(found: dict[str, list]) -> None:
    assert not found["failed"], describe(found["failed"])
    assert found["passed"], "checkov passed nothing: the scan covered nothing"
    for result in found["skipped"]:
        reason = (result.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) >= MIN_REASON, (
            f"{result['check_id']} on {result['resource']} is skipped without a real reason"
        )


def test_every_module_and_example_is_covered():
    names = {p.name for p in module_dirs()}
    assert {"kms", "network", "database", "bucket", "storage", "audit", "ferry"} <= names
    examples = {rel(p) for p in example_dirs()}
    for name in ("kms", "network", "database", "storage"):
        assert f"modules/{name}/examples/basic" in examples


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_checkov_finds_nothing_in_module(module: Path):
    found = checkov("-d", rel(module), "--skip-path", "examples")
    assert_clean(found)
    missing = MUST_PASS.get(module.name, set()) - {r["check_id"] for r in found["passed"]}
    assert not missing, f"expected checks did not run or did not pass: {sorted(missing)}"


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: rel(p.parents[1]))
def test_checkov_finds_nothing_in_example(example: Path):
    assert_clean(checkov("-d", rel(example)))


def test_inline_skips_name_a_check_and_a_reason():
    bad = []
    for path in sorted(MODULES.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            if "checkov:skip" not in line:
                continue
            match = SKIP_COMMENT.search(line)
            reason = (match.group(2) or "").strip() if match else ""
            if not match or not re.fullmatch(r"CKV2?_AWS_\d+", match.group(1)):
                bad.append(f"{rel(path)}:{lineno}: not #checkov:skip=<ID>:<reason>")
            elif len(reason) < MIN_REASON:
                bad.append(f"{rel(path)}:{lineno}: {match.group(1)} skipped without a real reason")
    assert not bad, "\n".join(bad)
