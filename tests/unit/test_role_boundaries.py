"""The roles never import one another (engine/roles/__init__.py): worker, verifier and
requester each share only engine.roles and the layers below, so one can change without the
others. Every import counts, a function-level one too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

ROLES = ("worker", "verifier", "requester")


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module the file ``path`` (or ``source`` as if it were that file) imports, by
    absolute name, its relative imports resolved; ``from m import x`` counts as m and m.x."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("role", ROLES)
def test_a_role_imports_no_other_role(role: str) -> None:
    others = tuple(f"engine.{other}" for other in ROLES if other != role)
    crossings = sorted(f"{path.relative_to(REPO)}: {name}"
                       for path in (REPO / "engine" / role).rglob("*.py")
                       for name in imported_modules(path)
                       if name in others or name.startswith(tuple(f"{o}." for o in others)))
    assert crossings == [], "move what they share to engine.roles"


def test_the_import_scan_sees_function_level_and_relative_imports() -> None:
    assert "engine.roles.arithmetic.ArithmeticHere" in imported_modules(REPO / "engine" / "verifier" / "stake_v2.py")
    source = "def f():\n    from ..worker import arithmetic\n    import engine.requester.terms\n"
    names = imported_modules(REPO / "engine" / "verifier" / "probe.py", source)
    assert {"engine.worker", "engine.worker.arithmetic", "engine.requester.terms"} <= names
