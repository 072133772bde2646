"""Plan review: plan an environment offline (or take a plan JSON), run the Rego
rules and checkov over it, and write one Markdown report, a SARIF 2.1.0 file
for code scanning and a JUnit XML file. Exits 1 on any violation.

    python -m policy.review plan   --env dev --out build/plan/dev.json
    python -m policy.review review --env dev --out-dir build/review/dev
    python -m policy.review review --plan path/to/plan.json --out-dir build/review/custom

Planning is :mod:`policy.plan`, checkov :mod:`policy.checks`, the change
summary and the result :mod:`policy.summary`, the reports :mod:`policy.render`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from policy import REPO, ReviewError
from policy.checks import (
    CheckovResult,
    apply_module_call_skips,
    config_skips,
    finish_checkov,
    start_checkov,
)
from policy.engine import SEVERITIES, Engine, PolicyError, self_test
from policy.plan import plan_environment
from policy.render import write_reports
from policy.summary import Review


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
        if env_dir is not None:
            apply_module_call_skips(checkov, env_dir)
        checkov.config, checkov.config_skips = config_skips(checkov_config)
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
    write_reports(result, out_dir)
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
