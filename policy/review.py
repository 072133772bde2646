"""Plan review: plan an environment offline (or take a plan JSON), run the Rego
rules and checkov over it, and write one Markdown report, a SARIF 2.1.0 file
for code scanning and a JUnit XML file. Exits 1 on any violation.

    python -m policy.review plan   --env dev --out build/plan/dev.json
    python -m policy.review review --env dev --out-dir build/review/dev
    python -m policy.review review --plan path/to/plan.json --out-dir build/review/custom

Environments are planned the way tests/test_environments.py plans them: a
copy of the root without its S3 backend block (the backend plays no part in
what is planned) beside a link to modules/, its terraform.tfvars, and
offline_plan = true with fake credentials. The Lambda package is build/processor.zip
when `make build` has made it, else a small placeholder zip.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from policy.engine import SEVERITIES, Engine, PolicyError, Violation, self_test

REPO = Path(__file__).resolve().parents[1]
CHECKOV_CHECKS = REPO / "policy" / "checkov"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "ferry-plan-review"
ACTION_ORDER = ("delete", "replace", "create", "update", "forget", "no-op")
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


class ReviewError(RuntimeError):
    """The review could not run (planning, checkov, or the Rego engine failed)."""


# --- planning --------------------------------------------------------------------------


def _package(directory: Path) -> tuple[Path, str]:
    built = REPO / "build" / "processor.zip"
    path = built
    if not built.is_file():
        path = directory / "processor.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("ferry/__init__.py", '"""placeholder package for offline plans"""\n')
    digest = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    return path, digest


def _planning_copy(env: str, base: Path) -> Path:
    source = REPO / "environments" / env
    if not (source / "main.tf").is_file():
        known = sorted(p.name for p in (REPO / "environments").iterdir() if p.is_dir())
        raise ReviewError(f"no environment {env!r} (environments/: {', '.join(known)})")
    if base.exists():
        shutil.rmtree(base)
    (base / "environments").mkdir(parents=True)
    (base / "modules").symlink_to(REPO / "modules", target_is_directory=True)
    target = base / "environments" / env
    target.mkdir()
    for item in source.iterdir():
        if item.is_file() and item.name != "backend.tf":
            shutil.copy2(item, target / item.name)
    return target


def plan_environment(env: str, work: Path) -> dict:
    """Offline plan of environments/<env>; returns the `terraform show -json` document."""
    from ferry_dev import terraform as tf

    root_dir = _planning_copy(env, work / "root")
    package, digest = _package(work)
    variables: dict[str, object] = {"offline_plan": True}
    declared = (
        (root_dir / "variables.tf").read_text() if (root_dir / "variables.tf").exists() else ""
    )
    if 'variable "package_path"' in declared:
        variables.update(package_path=str(package), package_sha256=digest)
    var_files = [root_dir / "terraform.tfvars"] if (root_dir / "terraform.tfvars").exists() else []
    data_dir = work / "tf-data"
    out = work / "tfplan"
    out.mkdir(parents=True, exist_ok=True)
    try:
        root = tf.Root(root_dir, env=dict(tf.OFFLINE_AWS_ENV), data_dir=data_dir)
        # A data dir from an earlier review is reused as is (init takes a second
        # or two); when modules or provider locks changed, Terraform asks for
        # init and the plan is retried once after it.
        if not (data_dir / "modules" / "modules.json").exists():
            root.init()
        try:
            return root.plan_json(variables=variables, var_files=var_files, out_dir=out)
        except tf.TerraformError as err:
            if "terraform init" not in str(err):
                raise
            root.init()
            return root.plan_json(variables=variables, var_files=var_files, out_dir=out)
    except tf.TerraformError as err:
        raise ReviewError(str(err)) from err


# --- checkov ---------------------------------------------------------------------------


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


def run_checkov(plan_path: Path, config: Path | None) -> CheckovResult:
    return finish_checkov(start_checkov(plan_path, config))


def _config_skips(config: Path | None) -> tuple[str, list[str]]:
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


# --- changes ---------------------------------------------------------------------------


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


# --- the report ------------------------------------------------------------------------


@dataclass
class Review:
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


def _module_files(plan: dict, env_dir: Path | None) -> dict[str, str]:
    """Root module call name -> the repository file of that module (for SARIF)."""
    out: dict[str, str] = {}
    if env_dir is None:
        return out
    calls = plan.get("configuration", {}).get("root_module", {}).get("module_calls", {})
    for name, call in calls.items():
        source = call.get("source", "")
        if source.startswith("."):
            path = (env_dir / source / "main.tf").resolve()
            try:
                out[name] = str(path.relative_to(REPO))
            except ValueError:
                continue
    return out


def review(
    plan: dict,
    target: str,
    out_dir: Path,
    *,
    artifact: str,
    env_dir: Path | None = None,
    checkov_config: Path | None = None,
    use_checkov: bool = True,
    timings: dict[str, float] | None = None,
) -> Review:
    """Run Rego and checkov over a plan document; write report.md, results.sarif, junit.xml."""
    timings = dict(timings or {})
    problems = self_test()
    if problems:
        raise ReviewError("the Rego engine misbehaves; not trusting it:\n" + "\n".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.json"
    plan_path.write_text(json.dumps(plan))
    started = time.monotonic()
    proc = start_checkov(plan_path, checkov_config) if use_checkov else None
    try:
        engine = Engine()
        violations = engine.evaluate(plan)
    except PolicyError as err:
        if proc is not None:
            proc.kill()
            proc.communicate()
        raise ReviewError(str(err)) from err
    timings["rego"] = time.monotonic() - started
    checkov = CheckovResult(ran=False)
    if proc is not None:
        checkov = finish_checkov(proc)
        checkov.config, checkov.config_skips = _config_skips(checkov_config)
        timings["checkov (alongside rego)"] = time.monotonic() - started
    result = Review(
        target=target,
        plan=plan,
        violations=violations,
        checkov=checkov,
        rules=engine.rules,
        artifact=artifact,
        timings=timings,
        module_files=_module_files(plan, env_dir),
    )
    (out_dir / "report.md").write_text(markdown(result))
    (out_dir / "results.sarif").write_text(json.dumps(sarif(result), indent=2) + "\n")
    junit(result).write(out_dir / "junit.xml", encoding="utf-8", xml_declaration=True)
    return result


def _summary_line(result: Review, out_dir: Path) -> str:
    sev = Counter(v.severity for v in result.violations)
    by_sev = ", ".join(f"{sev[s]} {s}" for s in SEVERITIES if sev[s])
    verdict = "FAILED" if result.failed else "PASSED"
    return (
        f"plan review {result.target}: {verdict}: {len(result.violations)} policy violation(s)"
        f"{f' ({by_sev})' if by_sev else ''}, {len(result.checkov.failed)} failed checkov "
        f"check(s); report in {out_dir / 'report.md'}"
    )


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policy.review", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_plan = sub.add_parser("plan", help="offline plan of an environment, as JSON")
    p_plan.add_argument("--env", required=True)
    p_plan.add_argument("--out", type=Path, required=True)
    p_rev = sub.add_parser("review", help="review an environment's plan or a given plan JSON")
    src = p_rev.add_mutually_exclusive_group(required=True)
    src.add_argument("--env")
    src.add_argument("--plan", type=Path, help="a `terraform show -json` document")
    p_rev.add_argument("--out-dir", type=Path, required=True)
    p_rev.add_argument("--no-checkov", action="store_true", help="Rego only")
    args = parser.parse_args(argv)
    try:
        if args.command == "plan":
            started = time.monotonic()
            work = REPO / ".cache" / "plan" / args.env
            doc = plan_environment(args.env, work)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(doc))
            print(f"plan of {args.env} in {args.out} ({time.monotonic() - started:.1f} s)")
            return 0
        timings: dict[str, float] = {}
        if args.plan:
            try:
                doc = json.loads(args.plan.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise ReviewError(
                    f"{args.plan}: not a readable plan JSON document ({err})"
                ) from err
            if "resource_changes" not in doc and "planned_values" not in doc:
                raise ReviewError(f"{args.plan}: not a `terraform show -json` plan document")
            target, artifact, env_dir, config = _rel(args.plan), _rel(args.plan), None, None
        else:
            started = time.monotonic()
            doc = plan_environment(args.env, REPO / ".cache" / "review" / args.env)
            timings["plan"] = time.monotonic() - started
            env_dir = REPO / "environments" / args.env
            target, artifact = args.env, f"environments/{args.env}/main.tf"
            config = env_dir / ".checkov.yaml"
            if not config.exists():
                config = REPO / ".checkov.yaml"
        result = review(
            doc,
            target,
            args.out_dir,
            artifact=artifact,
            env_dir=env_dir,
            checkov_config=config if config is not None else REPO / ".checkov.yaml",
            use_checkov=not args.no_checkov,
            timings=timings,
        )
    except ReviewError as err:
        print(f"plan review: error: {err}", file=sys.stderr)
        return 2
    print(_summary_line(result, args.out_dir))
    for v in result.violations:
        print(f"  {v.message}")
    for c in result.checkov.failed:
        print(f"  {c['check_id']} {c['resource']}: {c['check_name']}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
