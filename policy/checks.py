"""checkov over a plan JSON: started beside the Rego rules, its report parsed,
and the checks a checkov config file turns off listed for the report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from policy import REPO, ReviewError

CHECKOV_CHECKS = REPO / "policy" / "checkov"


@dataclass
class CheckovResult:
    failed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    passed: int = 0
    ran: bool = True
    config: str = ""
    config_skips: list[str] = field(default_factory=list)


def start_checkov(plan_path: Path, config: Path | None) -> subprocess.Popen:
    """Start checkov over a plan JSON (it runs while the Rego rules evaluate)."""
    exe = REPO / ".venv" / "bin" / "checkov"
    cmd = [str(exe) if exe.exists() else (shutil.which("checkov") or "checkov")]
    cmd += [
        "--skip-download",
        "--framework",
        "terraform_plan",
        "-f",
        str(plan_path),
        "--repo-root-for-plan-enrichment",
        str(REPO),
        "--external-checks-dir",
        str(CHECKOV_CHECKS),
        "-o",
        "json",
    ]
    if config is not None and config.exists():
        cmd += ["--config-file", str(config)]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", EVAL_TF_PLAN_AFTER_UNKNOWN="true")
    try:
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=REPO,
        )
    except OSError as err:
        raise ReviewError(f"checkov did not run: {err}") from err


def finish_checkov(proc: subprocess.Popen, timeout: int = 600) -> CheckovResult:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as err:
        proc.kill()
        proc.communicate()
        raise ReviewError(f"checkov did not finish within {timeout} s") from err
    if proc.returncode not in (0, 1):
        raise ReviewError(f"checkov failed ({proc.returncode}):\n{stderr[-3000:]}")
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError as err:
        raise ReviewError(f"checkov printed no JSON report:\n{stdout[-2000:]}") from err
    reports = report if isinstance(report, list) else [report]
    result = CheckovResult()
    for rep in reports:
        results = rep.get("results", {})
        result.failed += results.get("failed_checks", [])
        result.skipped += results.get("skipped_checks", [])
        result.passed += rep.get("summary", {}).get("passed", 0)
    result.failed.sort(key=lambda c: (c["check_id"], c["resource"]))
    result.skipped.sort(key=lambda c: (c["check_id"], c["resource"]))
    return result


def config_skips(config: Path | None) -> tuple[str, list[str]]:
    """Checks a checkov config file turns off (skip-check), for the report."""
    if config is None or not config.exists():
        return "", []
    import yaml  # checkov's own dependency

    try:
        doc = yaml.safe_load(config.read_text()) or {}
    except yaml.YAMLError as err:
        raise ReviewError(f"{config}: not valid YAML ({err})") from err
    skips = doc.get("skip-check") or []
    if isinstance(skips, str):
        skips = [s.strip() for s in skips.split(",") if s.strip()]
    try:
        name = str(config.resolve().relative_to(REPO))
    except ValueError:
        name = config.name
    return name, [str(s) for s in skips]
