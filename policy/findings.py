"""One list of findings from both engines: Rego violations and failed checkov
checks merged where they state the same fact, waivers applied, a severity
threshold, and each resource's block located in the configuration.

Waivers live in a reviewed TOML file (``--waivers``), one table per waiver:

    [[waiver]]
    rule = "FERRY-MACIE-001"              # a rule id or a checkov check id
    resource = "module.ferry.module.audit*" # an address glob (fnmatch)
    reason = "Macie is run by the organisation's delegated administrator"
    owner = "platform-security"
    expires = 2026-12-31

A waiver past its expiry date is not applied and fails the review; every
waiver applied is listed in the report.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from policy import ReviewError
from policy.engine import SEVERITIES, Violation

# checkov checks that state the same fact as a Rego rule (the rule's id first):
# a resource failing both is one finding with both ids.
EQUIVALENT_CHECKS: dict[str, tuple[str, ...]] = {
    "FERRY-S3-001": ("CKV_AWS_145", "CKV_AWS_19"),
    "FERRY-S3-002": ("CKV_AWS_21",),
    "FERRY-S3-003": ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6"),
    "FERRY-S3-004": ("CKV2_AWS_65",),
    "FERRY-S3-006": ("CKV_AWS_18",),
    "FERRY-S3-007": ("CKV2_AWS_61",),
    "FERRY-S3-009": ("CKV_AWS_20", "CKV_AWS_57"),
    "FERRY-NET-001": ("CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260"),
    "FERRY-NET-003": ("CKV_AWS_130",),
    "FERRY-NET-004": ("CKV2_AWS_11",),
    "FERRY-NET-005": ("CKV2_AWS_12",),
    "FERRY-NET-006": ("CKV_AWS_17",),
    "FERRY-RDS-001": ("CKV_AWS_16",),
    "FERRY-RDS-002": ("CKV_AWS_133",),
    "FERRY-RDS-003": ("CKV_AWS_161",),
    "FERRY-RDS-005": ("CKV_AWS_293",),
    "FERRY-RDS-007": ("CKV_AWS_226",),
    "FERRY-KMS-001": ("CKV_AWS_7",),
    "FERRY-LAMBDA-001": ("CKV_AWS_50",),
    "FERRY-LAMBDA-002": ("CKV_AWS_117",),
    "FERRY-LAMBDA-004": ("CKV_AWS_45",),
    "FERRY-LAMBDA-005": ("CKV_AWS_115",),
    "FERRY-LAMBDA-006": ("CKV_AWS_258",),
    "FERRY-LOG-001": ("CKV_AWS_66",),
    "FERRY-LOG-002": ("CKV_AWS_158",),
    "FERRY-LOG-003": ("CKV_AWS_67",),
    "FERRY-LOG-004": ("CKV_AWS_36",),
    "FERRY-LOG-005": ("CKV_AWS_35",),
    "FERRY-LOG-008": ("CKV_AWS_338",),
    "FERRY-DDB-001": ("CKV_AWS_28",),
    "FERRY-DDB-002": ("CKV_AWS_119",),
    "FERRY-SEC-001": ("CKV_AWS_149",),
    "FERRY-SNS-001": ("CKV_AWS_26",),
    "FERRY-SQS-001": ("CKV_AWS_27",),
    "FERRY-SQS-003": ("CKV_FERRY_2",),
    "FERRY-MACIE-001": ("CKV_FERRY_1",),
    "FERRY-IAM-005": ("CKV_AWS_273",),
}
CHECK_TO_RULE = {c: rid for rid, checks in EQUIVALENT_CHECKS.items() for c in checks}
# checkov results carry no severity offline: a failed check counts as high
CHECKOV_SEVERITY = "high"


@dataclass
class Finding:
    """One fact about one resource, with every id (Rego and checkov) that states it."""

    ids: list[str]
    severity: str
    address: str
    message: str
    engines: list[str]
    waiver: Waiver | None = None

    @property
    def rule_id(self) -> str:
        return self.ids[0]


@dataclass(frozen=True)
class Waiver:
    rule: str
    resource: str
    reason: str
    owner: str
    expires: dt.date
    source: str = ""

    def matches(self, rule_ids: list[str], address: str) -> bool:
        return self.rule in rule_ids and fnmatch.fnmatchcase(address, self.resource)

    def expired(self, today: dt.date) -> bool:
        return self.expires < today


@dataclass
class Waivers:
    applied: list[tuple[Waiver, Finding]] = field(default_factory=list)
    expired: list[Waiver] = field(default_factory=list)
    unused: list[Waiver] = field(default_factory=list)


def merge(violations: list[Violation], checkov_failed: list[dict]) -> list[Finding]:
    """Rego violations and failed checkov checks as one list, a shared fact once."""
    out: list[Finding] = []
    by_key: dict[tuple[str, str], Finding] = {}
    for v in violations:
        f = Finding([v.rule_id], v.severity, v.address, v.message, ["rego"])
        out.append(f)
        by_key[(v.rule_id, v.address)] = f
    for c in checkov_failed:
        cid, address = c["check_id"], c["resource"]
        same = by_key.get((CHECK_TO_RULE.get(cid, ""), address))
        if same is not None:
            if cid not in same.ids:
                same.ids.append(cid)
            if "checkov" not in same.engines:
                same.engines.append("checkov")
            continue
        f = Finding(
            [cid],
            CHECKOV_SEVERITY,
            address,
            f"{address}: {c['check_name']} (checkov {cid})",
            ["checkov"],
        )
        out.append(f)
        by_key[(cid, address)] = f
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), f.rule_id, f.address))


def load_waivers(path: Path) -> list[Waiver]:
    """The waivers of a TOML file; every field is required."""
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ReviewError(f"{path}: not a readable waivers file ({err})") from err
    out = []
    for i, entry in enumerate(doc.get("waiver", []), 1):
        missing = {"rule", "resource", "reason", "owner", "expires"} - set(entry)
        if missing:
            raise ReviewError(f"{path}: waiver {i} lacks {', '.join(sorted(missing))}")
        expires = entry["expires"]
        if isinstance(expires, str):
            expires = dt.date.fromisoformat(expires)
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise ReviewError(f"{path}: waiver {i}: expires must be a date (YYYY-MM-DD)")
        if not str(entry["reason"]).strip() or not str(entry["owner"]).strip():
            raise ReviewError(f"{path}: waiver {i}: reason and owner must not be empty")
        out.append(
            Waiver(
                rule=str(entry["rule"]),
                resource=str(entry["resource"]),
                reason=str(entry["reason"]).strip(),
                owner=str(entry["owner"]).strip(),
                expires=expires,
                source=f"{path.name}#{i}",
            )
        )
    return out


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], today: dt.date | None = None
) -> Waivers:
    """Mark the findings a live waiver covers; expired waivers are listed, not applied."""
    today = today or dt.date.today()
    result = Waivers()
    for w in waivers:
        if w.expired(today):
            result.expired.append(w)
            continue
        hits = [f for f in findings if f.waiver is None and w.matches(f.ids, f.address)]
        for f in hits:
            f.waiver = w
            result.applied.append((w, f))
        if not hits:
            result.unused.append(w)
    return result


def at_or_above(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


# --- where a resource's block is -----------------------------------------------------

_STEP = re.compile(r"^module\.([\w-]+)(?:\[[^\]]*\])?\.(.*)$")


@cache
def _blocks(module_dir: Path) -> dict[str, tuple[Path, int]]:
    """'type.name' / 'data.type.name' -> (file, line) of each block in a module directory."""
    out: dict[str, tuple[Path, int]] = {}
    pattern = re.compile(r'^(resource|data)\s+"([\w-]+)"\s+"([\w-]+)"', re.M)
    for tf_file in sorted(module_dir.glob("*.tf")):
        text = tf_file.read_text()
        for m in pattern.finditer(text):
            key = f"{m[2]}.{m[3]}" if m[1] == "resource" else f"data.{m[2]}.{m[3]}"
            out.setdefault(key, (tf_file, text.count("\n", 0, m.start()) + 1))
    return out


def locate(address: str, root_dir: Path, module_calls: dict) -> tuple[Path, int] | None:
    """The file and line of the block that declares `address`, following the
    module calls' local sources from the root module's directory."""
    here, calls = root_dir, module_calls
    rest = address
    while True:
        m = _STEP.match(rest)
        if not m:
            break
        call = calls.get(m[1])
        if call is None or not str(call.get("source", "")).startswith("."):
            return None
        here = (here / call["source"]).resolve()
        calls = call.get("module", {}).get("module_calls", {})
        rest = m[2]
    base = re.sub(r"\[[^\]]*\]$", "", rest)
    return _blocks(here).get(base)
