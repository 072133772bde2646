"""ferry_dev and policy import no module that (directly or not) imports them back.

The graph is read from the source with ``ast``: every ``import`` counts, at the
top of a module, inside a function or under ``if TYPE_CHECKING:``, so a cycle
cannot hide behind a lazy or type-only import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (REPO / "lambda_src" / "ferry_dev", REPO / "policy")


def _modules(packages: Iterable[Path]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            parts = list(path.relative_to(package.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` imports run ``a`` and ``a.b`` first: they are edges too."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_graph(packages: Iterable[Path]) -> dict[str, set[str]]:
    """Module -> the modules of the same packages it imports (anywhere in its body)."""
    modules = _modules(packages)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    if not is_package:
                        anchor = anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                for candidate in _with_parents(target):
                    if candidate in modules and candidate != name:
                        graph[name].add(candidate)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_ferry_dev_and_policy_have_no_import_cycle():
    graph = import_graph(PACKAGES)
    assert {"ferry_dev.local", "ferry_dev.report", "ferry_dev.samples", "policy.review"} <= set(
        graph
    )
    # the graph sees lazy imports: local.py's CLI uses the report
    assert "ferry_dev.report" in graph["ferry_dev.local"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        (
            {  # a function-level import closing the circle
                "pkg/__init__.py": "",
                "pkg/a.py": "from pkg.b import f\n",
                "pkg/b.py": "def f():\n    from pkg import a\n",
            },
            ["pkg.a", "pkg.b", "pkg.a"],
        ),
        (
            {  # a type-only import closing the circle, with relative imports
                "pkg/__init__.py": "",
                "pkg/a.py": "from . import b\n",
                "pkg/b.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from .a import X\n",
            },
            ["pkg.a", "pkg.b", "pkg.a"],
        ),
        (
            {  # a package __init__ importing a module that imports the package
                "pkg/__init__.py": "import pkg.a\n",
                "pkg/a.py": "from pkg.b import g\n",
                "pkg/b.py": "",
            },
            ["pkg", "pkg.a", "pkg"],
        ),
    ],
)
def test_the_check_finds_cycles(tmp_path, files, cycle):
    _write(tmp_path, files)
    assert find_cycle(import_graph([tmp_path / "pkg"])) == cycle


def test_the_check_passes_a_layered_package(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\nfrom pkg import c\n",
            "pkg/b.py": "from pkg.c import h\n",
            "pkg/c.py": "import json\n",
        },
    )
    graph = import_graph([tmp_path / "pkg"])
    assert graph["pkg.a"] == {"pkg", "pkg.b", "pkg.c"}
    assert find_cycle(graph) is None
