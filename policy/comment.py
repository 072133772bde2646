"""One sticky pull-request comment for the reviews of every environment.

    python -m policy.comment build build/review/dev build/review/staging ... --out comment.md
    python -m policy.comment post comment.md      # GITHUB_TOKEN, GITHUB_REPOSITORY, PR_NUMBER

`build` reads each review's summary.json and writes one Markdown comment: a
verdict line per environment, then per environment a collapsible section with
destructive changes first, then blocking findings, other findings, waivers.
`post` updates the comment that carries the marker in place, or creates it.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

MARKER = "<!-- ferry-plan-review -->"
# GitHub rejects comments above 65536 characters
LIMIT = 65000


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def section(s: dict) -> list[str]:
    """One environment's collapsible section."""
    n_destructive = len(s["destructive"])
    blocking = [f for f in s["findings"] if f["blocking"]]
    title = (
        f"{s['target']}: {s['verdict']}: {n_destructive} destructive change(s), "
        f"{len(blocking)} blocking finding(s)"
    )
    lines = [f"<details{' open' if s['verdict'] == 'FAILED' or n_destructive else ''}>"]
    lines += [f"<summary><b>{_cell(title)}</b></summary>", ""]
    if s["offline"]:
        lines += [
            "> **Offline plan.** Planned without cloud credentials or state: every resource "
            "shows as created; updates, replacements and deletions cannot be seen.",
            "",
        ]
    lines += ["**Destructive changes**", ""]
    if s["destructive"]:
        lines += ["| action | resource | reason |", "|---|---|---|"]
        for d in s["destructive"]:
            reason = d.get("reason", "")
            if d.get("replace_paths"):
                reason = f"{reason} (forces replacement: {', '.join(d['replace_paths'])})".strip()
            lines.append(f"| {d['action']} | `{_cell(d['address'])}` | {_cell(reason)} |")
    else:
        lines.append("None seen." if s["offline"] else "None.")
    counts = s["counts"]
    lines += [
        "",
        "Plan: "
        + ", ".join(
            f"{counts.get(a, 0)} to {a}" for a in ("create", "update", "replace", "delete")
        ),
        "",
    ]
    for title, items in (
        (f"Blocking findings (at or above {s['fail_on']})", blocking),
        ("Other findings", [f for f in s["findings"] if not f["blocking"]]),
    ):
        if not items:
            continue
        lines += [f"**{title}**", "", "| severity | rule | resource |", "|---|---|---|"]
        for f in items:
            lines.append(f"| {f['severity']} | {' + '.join(f['ids'])} | `{_cell(f['address'])}` |")
        lines.append("")
    if s["expired_waivers"]:
        lines += ["**Expired waivers** (they fail the review)", ""]
        for w in s["expired_waivers"]:
            lines.append(f"- {w['rule']} `{w['resource']}` ({w['owner']}, expired {w['expires']})")
        lines.append("")
    if s["waived"]:
        lines += ["**Waivers applied**", ""]
        for w in s["waived"]:
            lines.append(
                f"- {' + '.join(w['ids'])} `{w['address']}`: {w['reason']} "
                f"({w['owner']}, until {w['expires']})"
            )
        lines.append("")
    lines += ["</details>", ""]
    return lines


def build(summaries: list[dict], run_url: str = "") -> str:
    """The whole comment; environments with destructive changes or failures first."""
    ordered = sorted(
        summaries,
        key=lambda s: (not s["destructive"], s["verdict"] != "FAILED", s["target"]),
    )
    lines = [MARKER, "# Plan review", ""]
    if any(s["offline"] for s in summaries):
        offline = ", ".join(s["target"] for s in ordered if s["offline"])
        lines += [
            f"> **Offline plans ({offline}).** No cloud credentials: planned without state, "
            "so every resource shows as created and destructive changes cannot be seen.",
            "",
        ]
    lines += [
        "| environment | verdict | destructive | blocking | waived |",
        "|---|---|---|---|---|",
    ]
    for s in ordered:
        blocking = sum(1 for f in s["findings"] if f["blocking"])
        lines.append(
            f"| {s['target']} | {s['verdict']} | {len(s['destructive'])} | {blocking} | "
            f"{len(s['waived'])} |"
        )
    lines.append("")
    for s in ordered:
        lines += section(s)
    if run_url:
        lines.append(f"Full reports (Markdown, SARIF, JUnit): {run_url}")
    text = "\n".join(lines) + "\n"
    if len(text) > LIMIT:
        cut = "\n\n_(truncated: the full reports are in the run's artifacts)_\n"
        text = text[: LIMIT - len(cut)] + cut
    return text


def _api(method: str, url: str, token: str, body: dict | None = None) -> object:
    req = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def post(text: str, token: str, repository: str, number: int, api: str) -> str:
    """Update the comment carrying MARKER in place, or create it; returns its URL."""
    base = f"{api}/repos/{repository}/issues"
    page = 1
    while True:
        comments = _api("GET", f"{base}/{number}/comments?per_page=100&page={page}", token)
        assert isinstance(comments, list)
        for c in comments:
            if MARKER in (c.get("body") or ""):
                done = _api("PATCH", f"{base}/comments/{c['id']}", token, {"body": text})
                return str(done["html_url"])  # type: ignore[index]
        if len(comments) < 100:
            break
        page += 1
    done = _api("POST", f"{base}/{number}/comments", token, {"body": text})
    return str(done["html_url"])  # type: ignore[index]


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        args = argv[1:]
        out = Path(args[args.index("--out") + 1]) if "--out" in args else None
        dirs = [
            a for i, a in enumerate(args) if a != "--out" and (i == 0 or args[i - 1] != "--out")
        ]
        summaries = [
            json.loads((Path(d) / "summary.json").read_text())
            for d in dirs
            if (Path(d) / "summary.json").exists()
        ]
        text = build(summaries, os.environ.get("RUN_URL", ""))
        if out:
            out.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if argv[:1] == ["post"] and len(argv) == 2:
        url = post(
            Path(argv[1]).read_text(),
            os.environ["GITHUB_TOKEN"],
            os.environ["GITHUB_REPOSITORY"],
            int(os.environ["PR_NUMBER"]),
            os.environ.get("GITHUB_API_URL", "https://api.github.com"),
        )
        print(f"plan review comment: {url}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
