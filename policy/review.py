"""Plan review: plan an environment offline (or take a plan JSON), run the Rego
rules and checkov over it, and write one Markdown report, a SARIF 2.1.0 file
for code scanning and a JUnit XML file. Exits 1 on any violation.

    python -m policy.review plan   --env dev --out build/plan/dev.json
    python -m policy.review review --env dev --out-dir build/review/dev
    python -m policy.review review --plan path/to/plan.json --out-dir build/review/custom
    ferry-review plan.json                      # the installed console script

Options: --waivers FILE (reviewed exceptions, see policy.findings), --fail-on
SEVERITY (fail only on findings at or above it), --root DIR (the root module
a given plan was made from, so SARIF points at each resource's block),
--min-log-retention-days N (FERRY-LOG-008, 365 by default).

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
    PendingCheckov,
    apply_module_call_skips,
    checkov_available,
    config_skips,
    finish_checkov,
    prestart_checkov,
    start_checkov,
)
from policy.engine import SEVERITIES, Engine, PolicyError, Violation, self_test
from policy.findings import Waivers, apply_waivers, load_waivers
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


def simulation_violations(plan: dict) -> list[Violation]:
    """Findings of the service-integration simulation (FERRY-DEPLOY-*), when present.

    The hook for :mod:`policy.simulate`: a module with ``violations(plan)``
    returning :class:`policy.engine.Violation` objects (ids FERRY-DEPLOY-1xx).
    Until it exists, the review runs the Rego deployability rules only.
    """
    try:
        from policy import simulate  # type: ignore[attr-defined]
    except ImportError:
        return []
    run = getattr(simulate, "violations", None)
    return list(run(plan)) if callable(run) else []


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
    waivers: list | None = None,
    fail_on: str = "low",
    offline: bool = False,
    root_dir: Path | None = None,
    settings: dict | None = None,
    pending: PendingCheckov | None = None,
    enrich: Path | None = None,
) -> Review:
    """Run Rego and checkov over a plan document; write report.md, results.sarif, junit.xml.

    ``pending``: checkov already importing (:func:`prestart_checkov`), started
    on this plan here; ``enrich``: the root (with its modules) checkov reads the
    configuration from, the whole project when not given.
    """
    timings = dict(timings or {})
    problems = self_test()
    if problems:
        if pending is not None:
            pending.cancel()
        raise ReviewError("the Rego engine misbehaves; not trusting it:\n" + "\n".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.json"
    plan_path.write_text(json.dumps(plan))
    started = time.monotonic()
    proc = None
    if use_checkov:
        if pending is not None:
            proc = pending.start(plan_path, checkov_config, enrich)
        else:
            proc = start_checkov(plan_path, checkov_config, enrich)
    elif pending is not None:
        pending.cancel()
    try:
        engine = Engine(settings=settings)
        violations = engine.evaluate(plan)
        violations += simulation_violations(plan)
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
        root_dir=root_dir or env_dir,
        fail_on=fail_on,
        offline=offline,
    )
    result.waivers = apply_waivers(result.findings, waivers or []) if waivers else Waivers()
    write_reports(result, out_dir)
    return result


def _summary_line(result: Review, out_dir: Path) -> str:
    sev = Counter(v.severity for v in result.violations)
    by_sev = ", ".join(f"{sev[s]} {s}" for s in SEVERITIES if sev[s])
    verdict = "FAILED" if result.failed else "PASSED"
    return (
        f"plan review {result.target}: {verdict}: {len(result.blocking)} blocking finding(s), "
        f"{len(result.waivers.applied)} waived, {len(result.waivers.expired)} expired waiver(s); "
        f"{len(result.violations)} policy violation(s)"
        f"{f' ({by_sev})' if by_sev else ''}, {len(result.checkov.failed)} failed checkov "
        f"check(s); report in {out_dir / 'report.md'}"
    )


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return path.name


def _review_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-checkov", action="store_true", help="Rego only")
    p.add_argument("--waivers", type=Path, help="TOML file of reviewed waivers")
    p.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="low",
        help="fail on open findings at or above this severity (default: low, i.e. any)",
    )
    p.add_argument("--root", type=Path, help="root module directory the plan was made from")
    p.add_argument("--name", help="name of the reviewed target in the reports")
    p.add_argument(
        "--offline",
        action="store_true",
        help="the plan was made without credentials or state (says so in the report)",
    )
    p.add_argument("--min-log-retention-days", type=int, default=365, help="FERRY-LOG-008")


def console(argv: list[str] | None = None) -> int:
    """`ferry-review plan.json [options]`: review a plan JSON document."""
    parser = argparse.ArgumentParser(
        prog="ferry-review", description="Review a `terraform show -json` plan document."
    )
    parser.add_argument("plan", type=Path)
    parser.add_argument("--out-dir", type=Path, default=Path("ferry-review"))
    _review_options(parser)
    args = parser.parse_args(argv)
    if not args.no_checkov and not checkov_available():
        print("ferry-review: checkov is not installed; Rego rules only", file=sys.stderr)
        args.no_checkov = True
    rest = ["review", "--plan", str(args.plan), "--out-dir", str(args.out_dir)]
    return main(rest + _passthrough(args))


def _passthrough(args: argparse.Namespace) -> list[str]:
    out = ["--fail-on", args.fail_on, "--min-log-retention-days", str(args.min_log_retention_days)]
    for flag in ("no_checkov", "offline"):
        if getattr(args, flag):
            out.append("--" + flag.replace("_", "-"))
    for opt in ("waivers", "root", "name"):
        if getattr(args, opt) is not None:
            out += ["--" + opt, str(getattr(args, opt))]
    return out


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
    _review_options(p_rev)
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
        # checkov imports (seconds) while Terraform plans; given the plan in review()
        pending = None if args.no_checkov or args.plan else prestart_checkov()
        enrich = None
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
            offline = args.offline
        else:
            started = time.monotonic()
            work = REPO / ".cache" / "review" / args.env
            try:
                doc = plan_environment(args.env, work)
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
            timings["plan"] = time.monotonic() - started
            # the planning copy: this environment beside modules/, all checkov must read
            enrich = work / "root"
            env_dir = REPO / "environments" / args.env
            target, artifact = args.env, f"environments/{args.env}/main.tf"
            config = env_dir / ".checkov.yaml"
            if not config.exists():
                config = REPO / ".checkov.yaml"
            offline = True  # policy.plan always plans without credentials or state
        waivers = load_waivers(args.waivers) if args.waivers else []
        result = review(
            doc,
            target,
            args.out_dir,
            artifact=artifact,
            env_dir=env_dir,
            checkov_config=config if config is not None else REPO / ".checkov.yaml",
            use_checkov=not args.no_checkov,
            timings=timings,
            waivers=waivers,
            fail_on=args.fail_on,
            offline=offline,
            root_dir=args.root,
            settings={"min_log_retention_days": args.min_log_retention_days},
            pending=pending,
            enrich=enrich,
        )
        if args.name:
            result.target = args.name
    except ReviewError as err:
        print(f"plan review: error: {err}", file=sys.stderr)
        return 2
    print(_summary_line(result, args.out_dir))
    for f in result.open_findings:
        mark = "" if f in result.blocking else " (below --fail-on)"
        also = f" (also {', '.join(f.ids[1:])})" if len(f.ids) > 1 else ""
        print(f"  {f.message}{also}{mark}")
    for w, f in result.waivers.applied:
        print(f"  waived until {w.expires} ({w.owner}): {' + '.join(f.ids)} {f.address}")
    for w in result.waivers.expired:
        print(f"  EXPIRED waiver ({w.owner}, {w.expires}): {w.rule} {w.resource}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
