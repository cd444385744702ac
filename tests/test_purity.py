"""The domain imports no hardware, MQTT, HTTP or ORM library (decision 24)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "locker" / "domain"
ALLOWED_THIRD_PARTY: set[str] = set()


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        for root in imported_roots(path):
            if root in ("__future__", "locker"):
                continue
            assert root in sys.stdlib_module_names or root in ALLOWED_THIRD_PARTY, (
                f"{path.name} imports {root}"
            )


def test_domain_never_imports_the_adapters() -> None:
    for path in DOMAIN.glob("*.py"):
        text = path.read_text()
        for adapter in (
            "locker.store",
            "locker.runtime",
            "locker.config",
            "api",
            "firmware_bridge",
        ):
            assert f"from {adapter}" not in text and f"import {adapter}" not in text, path.name
