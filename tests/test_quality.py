"""Lint, format and type checks run as part of the suite, and every ``__all__``
names only what its module defines (after Starlette's ``test_exported_members``)."""

from __future__ import annotations

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
