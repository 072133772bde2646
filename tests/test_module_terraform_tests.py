"""Every module's own `terraform test` suite (offline, mock provider), as pytest items.

`make tf-test` runs the same suites one after the other; inside `make test` they
run here, where the test workers interleave them with the rest (a suite keeps
about one core busy, mostly starting the provider for each run block).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ferry_dev import terraform as tf

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(p.parent for p in REPO.glob("modules/*/main.tf"))
SUMMARY = re.compile(r"Success! (\d+) passed, 0 failed\.")


def test_every_module_has_a_terraform_test_suite() -> None:
    assert MODULES
    bare = [m.name for m in MODULES if not list(m.glob("tests/*.tftest.hcl"))]
    assert not bare, f"modules without tests/*.tftest.hcl: {bare}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_terraform_test_passes(module: Path, tf_root: Callable[..., tf.Root]) -> None:
    runs = tf.run_blocks(module)
    proc = tf_root(module).test()
    output = proc.stdout + proc.stderr
    summary = SUMMARY.search(proc.stdout)
    assert proc.returncode == 0, output[-6000:]
    assert summary, output[-6000:]
    assert int(summary.group(1)) == runs, f"{runs} run blocks, but:\n{output[-3000:]}"
