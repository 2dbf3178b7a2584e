"""The package's ``__all__`` is the public API: every name exists and nothing is left out."""

from __future__ import annotations

import importlib
import inspect

import trailkeeper.integrity as integrity

MODULES = ["checkpoints", "compact", "errors", "merkle", "nodes", "notes", "proofs", "verify"]


def test_all_names_exist() -> None:
    for name in integrity.__all__:
        assert hasattr(integrity, name), name
    assert sorted(integrity.__all__) == sorted(set(integrity.__all__))


def test_every_public_module_name_is_exported() -> None:
    exported = set(integrity.__all__)
    for module_name in MODULES:
        module = importlib.import_module(f"trailkeeper.integrity.{module_name}")
        missing = set(module.__all__) - exported
        assert not missing, f"{module_name} exports {missing} but the package does not"


def test_public_callables_have_docstrings() -> None:
    for name in integrity.__all__:
        obj = getattr(integrity, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), name


def test_integrity_core_does_no_io() -> None:
    forbidden = {"os", "io", "pathlib", "socket", "sqlite3", "psycopg", "open("}
    for module_name in MODULES:
        source = inspect.getsource(importlib.import_module(f"trailkeeper.integrity.{module_name}"))
        imports = {
            line.split()[1].split(".")[0]
            for line in source.splitlines()
            if line.startswith(("import ", "from ")) and not line.startswith("from .")
        }
        assert not imports & forbidden, (module_name, imports & forbidden)
        assert "open(" not in source.replace("open_note(", "").replace("open_checkpoint(", "")
