"""What a plan changes (managed resources by action, destructive ones first)
and the result of a review that the renderers show."""

from __future__ import annotations

from dataclasses import dataclass, field

from policy.checks import CheckovResult
from policy.engine import Violation

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

    @property
    def failed(self) -> bool:
        return bool(self.violations or self.checkov.failed)

    def file_for(self, address: str) -> str:
        """The source file a resource address most likely lives in (for SARIF)."""
        if address.startswith("module."):
            name = address.split(".")[1].split("[", maxsplit=1)[0]
            if name in self.module_files:
                return self.module_files[name]
        return self.artifact
