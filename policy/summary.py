"""What a plan changes (managed resources by action, destructive ones first)
and the result of a review that the renderers show."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from policy import REPO
from policy.checks import CheckovResult
from policy.engine import Violation
from policy.findings import Finding, Waivers, at_or_above, locate, merge

ACTION_ORDER = ("delete", "replace", "create", "update", "forget", "no-op")


def action_of(actions: list[str]) -> str:
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return actions[0] if actions else "no-op"


def changes(plan: dict) -> dict[str, list[dict]]:
    """Managed resource changes by action (delete, replace, create, update, forget, no-op)."""
    out: dict[str, list[dict]] = {a: [] for a in ACTION_ORDER}
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") != "managed":
            continue
        action = action_of(rc.get("change", {}).get("actions", []))
        entry = {"address": rc["address"], "type": rc["type"]}
        if rc.get("action_reason"):
            entry["reason"] = rc["action_reason"]
        paths = rc.get("change", {}).get("replace_paths")
        if paths:
            entry["replace_paths"] = [".".join(str(p) for p in path) for path in paths]
        out.setdefault(action, []).append(entry)
    for entries in out.values():
        entries.sort(key=lambda e: e["address"])
    return out


@dataclass
class Review:
    """What one review found, and what the reports need to show it."""

    target: str
    plan: dict
    violations: list[Violation]
    checkov: CheckovResult
    rules: dict
    artifact: str
    timings: dict[str, float] = field(default_factory=dict)
    module_files: dict[str, str] = field(default_factory=dict)
    # the root module's directory, to find each resource's block (SARIF lines)
    root_dir: Path | None = None
    # findings at or above this severity fail the review
    fail_on: str = "low"
    # planned without credentials or state: every resource shows as created
    offline: bool = False
    waivers: Waivers = field(default_factory=Waivers)
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.findings:
            self.findings = merge(self.violations, self.checkov.failed)

    @property
    def open_findings(self) -> list[Finding]:
        """Findings no waiver covers."""
        return [f for f in self.findings if f.waiver is None]

    @property
    def blocking(self) -> list[Finding]:
        """Open findings at or above the threshold."""
        return [f for f in self.open_findings if at_or_above(f.severity, self.fail_on)]

    @property
    def failed(self) -> bool:
        return bool(self.blocking or self.waivers.expired)

    def location(self, address: str) -> tuple[str, int]:
        """The repository file and line of a resource's block (for SARIF)."""
        if self.root_dir is not None:
            calls = (
                self.plan.get("configuration", {}).get("root_module", {}).get("module_calls", {})
            )
            found = locate(address, self.root_dir, calls)
            if found is not None:
                path, line = found
                try:
                    return str(path.resolve().relative_to(REPO)), line
                except ValueError:
                    try:
                        return str(path.resolve().relative_to(Path.cwd())), line
                    except ValueError:
                        return str(path), line
        return self.file_for(address), 1

    def file_for(self, address: str) -> str:
        """The source file a resource address most likely lives in (for SARIF)."""
        if address.startswith("module."):
            name = address.split(".")[1].split("[", maxsplit=1)[0]
            if name in self.module_files:
                return self.module_files[name]
        return self.artifact
