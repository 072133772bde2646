"""The review's three reports: Markdown for people, SARIF 2.1.0 for code
scanning, JUnit XML for CI test views."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from policy.engine import Violation
from policy.summary import Review, changes

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "ferry-plan-review"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(review: Review) -> str:
    by_action = changes(review.plan)
    counts = {a: len(v) for a, v in by_action.items()}
    verdict = "FAILED" if review.failed else "PASSED"
    lines = [
        f"# Plan review: {review.target}",
        "",
        f"**{verdict}**: {len(review.violations)} policy violation(s), "
        f"{len(review.checkov.failed)} failed checkov check(s).",
        "",
        "Plan: "
        + ", ".join(f"{counts.get(a, 0)} to {a}" for a in ("create", "update", "replace", "delete"))
        + f" ({counts.get('no-op', 0)} unchanged).",
        "",
    ]
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
    else:
        lines.append("None: nothing is deleted or replaced.")
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


def sarif(review: Review) -> dict:
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
                    "security-severity": {
                        "critical": "9.5",
                        "high": "8.0",
                        "medium": "5.5",
                        "low": "3.0",
                    }[rule.severity],
                },
            }
        )
    results = []

    def location(address: str) -> list[dict]:
        return [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": review.file_for(address)},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{"fullyQualifiedName": address, "kind": "resource"}],
            }
        ]

    for v in review.violations:
        results.append(
            {
                "ruleId": v.rule_id,
                "ruleIndex": index[v.rule_id],
                "level": SARIF_LEVEL[v.severity],
                "message": {"text": v.message},
                "locations": location(v.address),
                "partialFingerprints": {"ferryRuleResource": f"{v.rule_id}:{v.address}"},
            }
        )
    for c in review.checkov.failed:
        rid = c["check_id"]
        if rid not in index:
            index[rid] = len(rules)
            rules.append(
                {
                    "id": rid,
                    "name": rid.replace("_", ""),
                    "shortDescription": {"text": c["check_name"]},
                    "defaultConfiguration": {"level": "error"},
                    "helpUri": c.get("guideline") or "https://www.checkov.io/",
                    "properties": {"tags": ["security", "terraform", "checkov"]},
                }
            )
        results.append(
            {
                "ruleId": rid,
                "ruleIndex": index[rid],
                "level": "error",
                "message": {"text": f"{c['resource']}: {c['check_name']} (checkov {rid})"},
                "locations": location(c["resource"]),
                "partialFingerprints": {"ferryRuleResource": f"{rid}:{c['resource']}"},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"{TOOL_NAME}/{review.target}/"},
                "results": results,
            }
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
    """report.md, results.sarif and junit.xml in ``out_dir``."""
    (out_dir / "report.md").write_text(markdown(review))
    (out_dir / "results.sarif").write_text(json.dumps(sarif(review), indent=2) + "\n")
    junit(review).write(out_dir / "junit.xml", encoding="utf-8", xml_declaration=True)
