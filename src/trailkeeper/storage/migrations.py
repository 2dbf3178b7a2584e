"""Versioned SQL migrations, one ``NNNN_name.sql`` file each, per backend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "load_migrations"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str) -> list[Migration]:
    """Every migration shipped in ``package``'s ``migrations`` folder, in order."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        # numbers are handed out to parallel work ahead of time, so gaps are allowed;
        # ``migrate`` applies every migration not yet recorded, whatever its number
        raise RuntimeError(f"migrations in {package} must have distinct numbers >= 1: {versions}")
    return found
