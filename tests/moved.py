"""Terraform `moved {}` blocks, read from a configuration, applied to addresses.

Used to prove that an upgrade from an earlier layout keeps every resource:
each address of the old layout, moved the way Terraform would move it, must be
an address of the new layout. Terraform applies a module's moved blocks to the
addresses relative to that module, then descends into its module calls; so
does :func:`resolve`.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

_MOVED = re.compile(r"^moved\s*\{\s*from\s*=\s*(\S+)\s*to\s*=\s*(\S+)\s*\}", re.M)
_FIRST_MODULE = re.compile(r"^(module\.[\w-]+)(\[[^\]]*\])?\.(.*)$")

# The last release before modules/ferry: environments called each module themselves.
PRE_COMPOSITION_REF = "61e67cd"


@cache
def moves_in(module_dir: Path) -> tuple[tuple[str, str], ...]:
    """Every (from, to) pair of the moved blocks in a module's .tf files."""
    pairs: list[tuple[str, str]] = []
    for tf in sorted(module_dir.glob("*.tf")):
        pairs.extend(_MOVED.findall(tf.read_text()))
    return tuple(pairs)


def _keyed(address: str) -> bool:
    return address.endswith("]")


def _move_once(address: str, moves: tuple[tuple[str, str], ...]) -> str:
    for source, target in moves:
        if address == source or address.startswith(source + "."):
            # That instance, or everything inside that module instance.
            return target + address[len(source) :]
        if not (_keyed(source) or _keyed(target)) and address.startswith(source + "["):
            # A whole resource or module call (no key on either side): every
            # instance keeps its key. With a key on one side (`x` -> `x[0]`),
            # the unkeyed side is the no-key instance only.
            return target + address[len(source) :]
    return address


def resolve(address: str, module_dir: Path, calls: Mapping[str, Any]) -> str:
    """Where Terraform moves `address` (relative to the module at module_dir).

    `calls` is that module's `module_calls` from `terraform show -json`
    (configuration section), which names each call's source.
    """
    moves = moves_in(module_dir)
    for _ in range(len(moves) + 1):  # moves may chain
        moved = _move_once(address, moves)
        if moved == address:
            break
        address = moved
    match = _FIRST_MODULE.match(address)
    if not match or match.group(1).split(".", 1)[1] not in calls:
        return address
    name = match.group(1).split(".", 1)[1]
    call = calls[name]
    child_dir = (module_dir / call["source"]).resolve()
    inner = resolve(match.group(3), child_dir, call["module"].get("module_calls", {}))
    return f"{match.group(1)}{match.group(2) or ''}.{inner}"


def managed_addresses(plan: Mapping[str, Any]) -> set[str]:
    """Managed resource instances a plan ends with (everything not deleted)."""
    return {
        rc["address"]
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed" and rc["change"]["actions"] != ["delete"]
    }


def extract_layout(repo: Path, ref: str, paths: tuple[str, ...], into: Path) -> Path:
    """The files of `paths` at git `ref`, written under `into` (which is returned)."""
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as archive:
        subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", ref, *paths],
            stdout=archive,
            check=True,
            timeout=120,
        )
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(into, filter="data")
    return into
