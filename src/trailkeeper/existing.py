"""Commands that only read open an existing deployment and never make one.

``keys show`` run from the wrong folder must not print a fresh key an auditor would then
trust, and ``verify`` there must not create an empty database that "verifies". Only
``serve``, ``worker``, ``migrate`` and ``tenants create`` set a deployment up."""

from __future__ import annotations

from pathlib import Path

from trailkeeper.deployment_key import KEY_FILE
from trailkeeper.settings import Settings
from trailkeeper.signing import SIGNING_KEY_FILE

__all__ = ["NoDeployment", "require_deployment", "require_schema"]

SETUP = (
    "Give the deployment's --data-dir (or TRAILKEEPER_DATA_DIR){url}; `trailkeeper serve`, "
    "`migrate` or `tenants create` set up a new deployment"
)


class NoDeployment(Exception):
    """There is nothing to read where the command looked; nothing was created."""


def require_deployment(settings: Settings, *, database: bool = True) -> None:
    """Raise ``NoDeployment`` naming the data dir unless its keys (and, when ``database``,
    the SQLite file) are there, or given as settings instead."""
    data_dir = settings.data_dir.resolve()
    needed = [] if settings.signing_key is not None else [SIGNING_KEY_FILE]
    if database:
        if settings.database_url is None:
            needed.append(settings.sqlite_path.name)
        if settings.secret_key is None:
            needed.append(KEY_FILE)
    missing = [name for name in needed if not (data_dir / name).is_file()]
    if missing:
        where = "does not exist" if not data_dir.exists() else f"has no {' or '.join(missing)}"
        raise NoDeployment(
            f"no trailkeeper deployment here: {data_dir} {where}. " + _setup(settings)
        )


def require_schema(settings: Settings, version: int) -> None:
    """An opened database that was never migrated holds no deployment either."""
    if version == 0:
        where = _database(settings)
        raise NoDeployment(
            f"no trailkeeper deployment here: {where} has no tables. " + _setup(settings)
        )


def _database(settings: Settings) -> str:
    if settings.database_url is None:
        return str(Path(settings.sqlite_path).resolve())
    return "the database at --database-url"


def _setup(settings: Settings) -> str:
    url = "" if settings.database_url is None else " and --database-url"
    return SETUP.format(url=url)
