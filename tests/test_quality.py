"""Lint, format and type checks run as part of the suite, and every ``__all__``
names only what its module defines (after Starlette's ``test_exported_members``)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import trailkeeper

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

CHECKS = {
    "ruff check": [str(BIN / "ruff"), "check", "."],
    "ruff format": [str(BIN / "ruff"), "format", "--check", "."],
    "mypy": [str(BIN / "mypy")],  # strict, on the packages configured in pyproject.toml
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_tool_passes(name: str) -> None:
    done = subprocess.run(
        CHECKS[name], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    output = f"$ {' '.join(CHECKS[name])}\n{done.stdout}{done.stderr}"
    assert done.returncode == 0, output


def all_modules() -> list[ModuleType]:
    names = ["trailkeeper"] + [
        info.name for info in pkgutil.walk_packages(trailkeeper.__path__, "trailkeeper.")
    ]
    return [importlib.import_module(name) for name in sorted(names)]


def test_modules_were_found() -> None:
    names = {module.__name__ for module in all_modules()}
    assert {"trailkeeper.events.canonical", "trailkeeper.storage.sqlite.store"} <= names


@pytest.mark.parametrize("module", all_modules(), ids=lambda m: m.__name__)
def test_exported_members_exist(module: ModuleType) -> None:
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert isinstance(exported, list | tuple), f"{module.__name__}.__all__ is not a list"
    assert all(isinstance(name, str) for name in exported), exported
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names what it does not define: {missing}"
    duplicated = sorted({name for name in exported if exported.count(name) > 1})
    assert not duplicated, f"{module.__name__}.__all__ repeats {duplicated}"


MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
SIZE_ALLOWED: set[str] = set()  # none left: keep it that way
"""Modules (path) and functions (path:name) allowed over the limits, each for a reason."""


def source_sizes() -> tuple[dict[str, int], dict[str, int]]:
    """Lines per module of ``src/`` (path from ``src/``) and per function (``path:name``,
    nested functions and methods too, decorators not counted)."""
    modules, functions = {}, {}
    src = ROOT / "src"
    for path in sorted(src.rglob("*.py")):
        name = path.relative_to(src).as_posix()
        text = path.read_text(encoding="utf-8")
        modules[name] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                key = f"{name}:{node.name}"
                functions[key] = max(lines, functions.get(key, 0))
    return modules, functions


def test_no_module_or_function_is_too_long_to_read() -> None:
    """A newcomer reads a module in one sitting and a function on one screen."""
    modules, functions = source_sizes()
    assert "trailkeeper/service/__init__.py" in modules  # the walk found the sources
    long_modules = {m: n for m, n in modules.items() if n > MAX_MODULE_LINES}
    long_functions = {f: n for f, n in functions.items() if n > MAX_FUNCTION_LINES}
    over = {k: n for k, n in (long_modules | long_functions).items() if k not in SIZE_ALLOWED}
    assert not over, f"over {MAX_MODULE_LINES} lines a module, {MAX_FUNCTION_LINES} a function"
    stale = SIZE_ALLOWED - set(long_modules) - set(long_functions)
    assert not stale, f"allowed but no longer too long (remove from SIZE_ALLOWED): {stale}"
