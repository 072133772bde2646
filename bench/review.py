"""Wall time of the plan review of every environment, planned in parallel.

    PYTHONPATH=lambda_src .venv/bin/python bench/review.py            # Rego + checkov
    PYTHONPATH=lambda_src .venv/bin/python bench/review.py --no-checkov

Each environment is reviewed by its own `python -m policy.review review --env E`
child process (offline plan, Rego, checkov alongside), all started together;
the figure is the wall clock from the first start to the last exit, with each
child's own time, the CPU time of all of them (terraform and checkov
included) and the machine's load average before and after (the target: at
most 30 s for the three environments on 2 cores). Terraform's data
directories under .cache/review/ are reused as `make review` reuses them, so
init runs only the first time; run it once to warm them before measuring.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(REPO / "lambda_src"))
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    for run in range(1, args.runs + 1):
        started = time.monotonic()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs = {}
        for name in ENVIRONMENTS:
            cmd = [sys.executable, "-m", "policy.review", "review", "--env", name]
            cmd += ["--out-dir", str(REPO / "build" / "bench-review" / name)]
            if args.no_checkov:
                cmd.append("--no-checkov")
            proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            procs[name] = (proc, time.monotonic())
        own = {}
        for name, (proc, t0) in procs.items():
            out, _ = proc.communicate()
            own[name] = time.monotonic() - t0
            if proc.returncode not in (0, 1):
                print(out)
                return 2
        wall = time.monotonic() - started
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        each = ", ".join(f"{n} {s:.1f} s" for n, s in own.items())
        print(
            f"run {run}: {wall:.1f} s wall for {len(ENVIRONMENTS)} environments ({each}); "
            f"{cpu:.1f} s CPU in all (terraform and checkov included), "
            f"{cpu / (os.cpu_count() or 1):.1f} s per core"
        )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
