"""The rating core is pure: no database, no HTTP, no clock, no I/O (STYLE.md, SCALE.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import kakin.rating

SOURCES = sorted(Path(kakin.rating.__file__).parent.glob("*.py"))
ALLOWED_THIRD_PARTY = {"holidays"}  # calendar data: the Japanese national holidays
ALLOWED_KAKIN = ("kakin.kit.money", "kakin.rating")
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_rating_imports_only_the_standard_library_money_and_calendar_data(path: Path) -> None:
    """STYLE.md: "`rating/` is pure … nothing in `rating/` or `kit/` imports a domain
    package" — and no database or web framework either."""
    for module in imported_modules(path):
        top = module.split(".")[0]
        if top == "kakin":
            assert module.startswith(ALLOWED_KAKIN), module
        else:
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, module


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_rating_never_reads_a_clock(path: Path) -> None:
    """STYLE.md: "No database, no HTTP, no clock: plain data in, plain data out"."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "print", "input"}, f"{path.name}:{node.lineno}"
