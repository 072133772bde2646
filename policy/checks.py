"""checkov over a plan JSON: started beside the Rego rules, its report parsed,
and the checks a checkov config file turns off listed for the report."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
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


def _checkov_env() -> dict[str, str]:
    return dict(os.environ, BC_SKIP_MAPPING="TRUE", EVAL_TF_PLAN_AFTER_UNKNOWN="true")


def _project() -> Path:
    # installed as a package, REPO is site-packages: enrich from the working directory
    return REPO if (REPO / "modules").is_dir() else Path.cwd()


def checkov_args(plan_path: Path, config: Path | None, enrich: Path | None = None) -> list[str]:
    """checkov's arguments for one plan JSON.

    ``enrich`` is the directory checkov reads the configuration from (file
    positions, `#checkov:skip` comments): the root the plan was made from with
    its modules; the whole project when not given (slower: every .tf file under
    it is parsed).
    """
    args = [
        "--skip-download",
        "--framework",
        "terraform_plan",
        "-f",
        str(plan_path),
        "--repo-root-for-plan-enrichment",
        str(enrich or _project()),
        "--external-checks-dir",
        str(CHECKOV_CHECKS),
        "-o",
        "json",
    ]
    if config is not None and config.exists():
        args += ["--config-file", str(config)]
    return args


def _popen(cmd: list[str]) -> subprocess.Popen:
    try:
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE,
            text=True,
            env=_checkov_env(),
            cwd=_project(),
        )
    except OSError as err:
        raise ReviewError(f"checkov did not run: {err}") from err


class PendingCheckov:
    """checkov started ahead of its plan (:mod:`policy.checkov_launch`): it imports
    while Terraform plans, and runs when :meth:`start` gives it the plan."""

    def __init__(self) -> None:
        self.proc = _popen([sys.executable, "-m", "policy.checkov_launch"])

    def start(
        self, plan_path: Path, config: Path | None, enrich: Path | None = None
    ) -> subprocess.Popen:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(checkov_args(plan_path, config, enrich)) + "\n")
        self.proc.stdin.close()
        self.proc.stdin = None  # communicate() must not flush a closed pipe
        return self.proc

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def prestart_checkov() -> PendingCheckov | None:
    """checkov importing in the background, when this interpreter has it (else None)."""
    if importlib.util.find_spec("checkov") is None:
        return None
    return PendingCheckov()


def start_checkov(
    plan_path: Path, config: Path | None, enrich: Path | None = None
) -> subprocess.Popen:
    """Start checkov over a plan JSON (it runs while the Rego rules evaluate)."""
    exe = REPO / ".venv" / "bin" / "checkov"
    cmd = [str(exe) if exe.exists() else (shutil.which("checkov") or "checkov")]
    proc = _popen(cmd + checkov_args(plan_path, config, enrich))
    assert proc.stdin is not None
    proc.stdin.close()
    proc.stdin = None
    return proc


_MODULE_BLOCK = re.compile(r'^module\s+"([^"]+)"\s*\{(.*?)^\}', re.M | re.S)
_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.+)")
_SOURCE = re.compile(r'^\s*source\s*=\s*"(\.[^"]*)"', re.M)


def module_call_skips(root: Path, address: str) -> dict[str, str]:
    """Inline skips written on the module calls a plan address goes through.

    checkov honours a skip on a `module` block for every resource of that call
    in HCL scans, but its plan enrichment matches resources by type and name
    only, so a skip meant for one bucket of the shared bucket module would have
    to sit on the resource and silence every bucket. Follow the address's module
    chain from the root through the local sources and collect each call's
    skips (check id -> reason), as checkov's HCL scan would.
    """
    skips: dict[str, str] = {}
    here = root
    for name in re.findall(r"module\.([\w-]+)", address):
        calls = {
            n: body for p in here.glob("*.tf") for n, body in _MODULE_BLOCK.findall(p.read_text())
        }
        body = calls.get(name)
        source = _SOURCE.search(body) if body else None
        if not source:
            break
        skips.update(dict(_SKIP.findall(body)))
        here = (here / source.group(1)).resolve()
    return skips


def apply_module_call_skips(result: CheckovResult, root: Path) -> None:
    """Move failed checks that a module call skips (with its reason) to the skipped ones."""
    for check in list(result.failed):
        reason = module_call_skips(root, check["resource"]).get(check["check_id"])
        if reason:
            result.failed.remove(check)
            result.skipped.append({**check, "check_result": {"suppress_comment": reason.strip()}})
    result.skipped.sort(key=lambda c: (c["check_id"], c["resource"]))


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


def checkov_available() -> bool:
    return (REPO / ".venv" / "bin" / "checkov").exists() or shutil.which("checkov") is not None
