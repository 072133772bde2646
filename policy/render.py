"""The review's three reports: Markdown for people, SARIF 2.1.0 for code
scanning, JUnit XML for CI test views."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from policy.engine import Violation
from policy.findings import Finding
from policy.summary import Review, changes

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "ferry-plan-review"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


OFFLINE_BANNER = (
    "> **Offline plan.** Planned without cloud credentials or state: every resource "
    "shows as created, and updates, replacements and deletions cannot be seen."
)


def _finding_rows(findings: list[Finding]) -> list[str]:
    rows = ["| severity | rule | resource | finding |", "|---|---|---|---|"]
    for f in findings:
        text = f.message.split(": ", 2)[-1] if f.engines[0] == "rego" else f.message
        rows.append(
            f"| {f.severity} | {' + '.join(f.ids)} | `{_cell(f.address)}` | {_cell(text)} |"
        )
    return rows


def markdown(review: Review) -> str:
    by_action = changes(review.plan)
    counts = {a: len(v) for a, v in by_action.items()}
    verdict = "FAILED" if review.failed else "PASSED"
    lines = [f"# Plan review: {review.target}", ""]
    if review.offline:
        lines += [OFFLINE_BANNER, ""]
    lines += [
        f"**{verdict}**: {len(review.blocking)} blocking finding(s) at or above "
        f"{review.fail_on} ({len(review.open_findings)} open, "
        f"{len(review.waivers.applied)} waived); {len(review.violations)} policy violation(s), "
        f"{len(review.checkov.failed)} failed checkov check(s).",
        "",
        "Plan: "
        + ", ".join(f"{counts.get(a, 0)} to {a}" for a in ("create", "update", "replace", "delete"))
        + f" ({counts.get('no-op', 0)} unchanged).",
        "",
    ]
    if review.waivers.expired:
        lines += [
            "## Expired waivers",
            "",
            "These waivers are past their date and no longer apply:",
            "",
        ]
        lines += ["| rule | resource | owner | expired | reason |", "|---|---|---|---|---|"]
        for w in review.waivers.expired:
            lines.append(
                f"| {w.rule} | `{_cell(w.resource)}` | {_cell(w.owner)} | {w.expires} | "
                f"{_cell(w.reason)} |"
            )
        lines.append("")
    destructive = by_action["delete"] + by_action["replace"]
    lines += ["## Destructive changes", ""]
    if destructive:
        lines += [
            f"**{len(destructive)} resource(s) will be destroyed or replaced.** "
            "Check that no data is lost.",
            "",
            "| action | resource | reason |",
            "|---|---|---|",
        ]
        for action in ("delete", "replace"):
            for e in by_action[action]:
                reason = e.get("reason", "")
                if e.get("replace_paths"):
                    reason = (
                        f"{reason} (forces replacement: {', '.join(e['replace_paths'])})".strip()
                    )
                lines.append(f"| {action} | `{_cell(e['address'])}` | {_cell(reason)} |")
    elif review.offline:
        lines.append("None seen: an offline plan cannot show deletions or replacements.")
    else:
        lines.append("None: nothing is deleted or replaced.")
    lines += ["", "## Findings", ""]
    if review.open_findings:
        lines += _finding_rows(review.open_findings)
    else:
        lines.append("No open findings.")
    if review.waivers.applied:
        lines += ["", "## Waivers applied", ""]
        lines += ["| rule | resource | owner | expires | reason |", "|---|---|---|---|---|"]
        for w, f in review.waivers.applied:
            lines.append(
                f"| {' + '.join(f.ids)} | `{_cell(f.address)}` | {_cell(w.owner)} | {w.expires} | "
                f"{_cell(w.reason)} |"
            )
    lines += ["", "## Changes", ""]
    for action in ("create", "update", "forget"):
        entries = by_action.get(action, [])
        if not entries:
            continue
        lines += [
            f"<details><summary>{action}: {len(entries)}</summary>",
            "",
            *[f"- `{e['address']}`" for e in entries],
            "",
            "</details>",
            "",
        ]
    if not any(by_action.get(a) for a in ("create", "update", "forget")):
        lines += ["No resources are created or updated.", ""]
    lines += [f"## Policy findings (Rego, {len(review.rules)} rules)", ""]
    if review.violations:
        lines += ["| severity | rule | resource | finding |", "|---|---|---|---|"]
        for v in review.violations:
            finding = v.message.split(": ", 2)[-1]
            lines.append(
                f"| {v.severity} | {v.rule_id} | `{_cell(v.address)}` | {_cell(finding)} |"
            )
    else:
        lines.append("No violations.")
    lines += ["", "## checkov", ""]
    if not review.checkov.ran:
        lines.append("Not run (--no-checkov).")
    else:
        lines.append(
            f"{review.checkov.passed} passed, {len(review.checkov.failed)} failed, "
            f"{len(review.checkov.skipped)} skipped."
        )
        if review.checkov.failed:
            lines += ["", "| check | resource | finding |", "|---|---|---|"]
            for c in review.checkov.failed:
                lines.append(
                    f"| {c['check_id']} | `{_cell(c['resource'])}` | {_cell(c['check_name'])} |"
                )
        if review.checkov.config_skips:
            lines += [
                "",
                f"Not run, as `{review.checkov.config}` says (its comments give the reasons): "
                + ", ".join(review.checkov.config_skips)
                + ".",
            ]
        if review.checkov.skipped:
            lines += ["", "Skipped, with the reason given where they are skipped:", ""]
            lines += ["| check | resource | reason |", "|---|---|---|"]
            for c in review.checkov.skipped:
                reason = c.get("check_result", {}).get("suppress_comment", "")
                lines.append(f"| {c['check_id']} | `{_cell(c['resource'])}` | {_cell(reason)} |")
    if review.timings:
        lines += [
            "",
            "<sub>" + ", ".join(f"{k} {v:.1f} s" for k, v in review.timings.items()) + "</sub>",
        ]
    return "\n".join(lines) + "\n"


SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def sarif(review: Review) -> dict:
    """SARIF 2.1.0: one result per finding (a fact both engines found once, with
    both ids), located at the resource's block in the configuration."""
    rules = []
    index: dict[str, int] = {}
    for rid, rule in review.rules.items():
        index[rid] = len(rules)
        rules.append(
            {
                "id": rid,
                "name": rid.replace("-", ""),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": f"{rule.title} ({rule.severity})"},
                "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
                "properties": {
                    "tags": ["security", "terraform", *rule.controls],
                    "security-severity": SECURITY_SEVERITY[rule.severity],
                },
            }
        )
    names = {c["check_id"]: c for c in review.checkov.failed}
    results = []
    for f in review.open_findings:
        rid = f.rule_id
        if rid not in index:
            c = names.get(rid, {})
            index[rid] = len(rules)
            rules.append(
                {
                    "id": rid,
                    "name": rid.replace("_", ""),
                    "shortDescription": {"text": c.get("check_name", rid)},
                    "defaultConfiguration": {"level": "error"},
                    "helpUri": c.get("guideline") or "https://www.checkov.io/",
                    "properties": {"tags": ["security", "terraform", "checkov"]},
                }
            )
        uri, line = review.location(f.address)
        text = f.message
        if len(f.ids) > 1:
            text = f"{text} (also {', '.join(f.ids[1:])})"
        results.append(
            {
                "ruleId": rid,
                "ruleIndex": index[rid],
                "level": SARIF_LEVEL[f.severity],
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri},
                            "region": {"startLine": line},
                        },
                        "logicalLocations": [{"fullyQualifiedName": f.address, "kind": "resource"}],
                    }
                ],
                "partialFingerprints": {"ferryRuleResource": f"{rid}:{f.address}"},
                "properties": {"ruleIds": list(f.ids), "engines": list(f.engines)},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": TOOL_NAME, "rules": rules}},
                "automationDetails": {"id": f"{TOOL_NAME}/{review.target}/"},
                "results": results,
            }
        ],
    }


def summary(review: Review) -> dict:
    """What the pull-request comment needs from one review (summary.json)."""
    by_action = changes(review.plan)
    return {
        "target": review.target,
        "verdict": "FAILED" if review.failed else "PASSED",
        "offline": review.offline,
        "fail_on": review.fail_on,
        "counts": {a: len(v) for a, v in by_action.items()},
        "destructive": [{"action": a, **e} for a in ("delete", "replace") for e in by_action[a]],
        "findings": [
            {
                "ids": f.ids,
                "severity": f.severity,
                "address": f.address,
                "message": f.message,
                "blocking": f in review.blocking,
            }
            for f in review.open_findings
        ],
        "waived": [
            {
                "ids": f.ids,
                "address": f.address,
                "owner": w.owner,
                "expires": str(w.expires),
                "reason": w.reason,
            }
            for w, f in review.waivers.applied
        ],
        "expired_waivers": [
            {"rule": w.rule, "resource": w.resource, "owner": w.owner, "expires": str(w.expires)}
            for w in review.waivers.expired
        ],
    }


def junit(review: Review) -> ET.ElementTree:
    suites = ET.Element("testsuites", name=f"{TOOL_NAME} {review.target}")
    rego = ET.SubElement(suites, "testsuite", name="rego")
    by_rule: dict[str, list[Violation]] = {}
    for v in review.violations:
        by_rule.setdefault(v.rule_id, []).append(v)
    for rid, rule in review.rules.items():
        case = ET.SubElement(
            rego, "testcase", classname=rule.package or "ferry", name=f"{rid} {rule.title}"
        )
        found = by_rule.get(rid, [])
        if found:
            failure = ET.SubElement(
                case,
                "failure",
                type=rule.severity,
                message=f"{len(found)} violation(s): " + ", ".join(v.address for v in found),
            )
            failure.text = "\n".join(v.message for v in found)
    rego.set("tests", str(len(review.rules)))
    rego.set("failures", str(len(by_rule)))
    rego.set("errors", "0")
    ck = ET.SubElement(suites, "testsuite", name="checkov")
    for c in review.checkov.failed:
        case = ET.SubElement(
            ck, "testcase", classname="checkov", name=f"{c['check_id']} {c['resource']}"
        )
        failure = ET.SubElement(case, "failure", type="checkov", message=c["check_name"])
        failure.text = f"{c['resource']}: {c['check_name']}"
    for c in review.checkov.skipped:
        case = ET.SubElement(
            ck, "testcase", classname="checkov", name=f"{c['check_id']} {c['resource']}"
        )
        skipped = ET.SubElement(case, "skipped")
        skipped.set("message", c.get("check_result", {}).get("suppress_comment", "") or "skipped")
    if review.checkov.passed:
        ET.SubElement(
            ck, "testcase", classname="checkov", name=f"{review.checkov.passed} passed checks"
        )
    ck.set("tests", str(len(ck)))
    ck.set("failures", str(len(review.checkov.failed)))
    ck.set("skipped", str(len(review.checkov.skipped)))
    ck.set("errors", "0")
    suites.set("tests", str(len(rego) + len(ck)))
    suites.set("failures", str(len(by_rule) + len(review.checkov.failed)))
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    return tree


def write_reports(review: Review, out_dir: Path) -> None:
    """report.md, results.sarif, junit.xml and summary.json in ``out_dir``."""
    (out_dir / "report.md").write_text(markdown(review))
    (out_dir / "results.sarif").write_text(json.dumps(sarif(review), indent=2) + "\n")
    junit(review).write(out_dir / "junit.xml", encoding="utf-8", xml_declaration=True)
    (out_dir / "summary.json").write_text(json.dumps(summary(review), indent=2) + "\n")
