"""The retention bench's deployment, seeded once and copied for every run.

Loading a million events through ``store.append`` (genuine leaf hashes, old ``received_at``:
``retention_load.py``) takes minutes; the retention run it feeds takes seconds and destroys
what it measures. So the seeded deployment is kept under ``CACHE_ROOT`` (the data dir with its
keys and, for SQLite, the database file; for PostgreSQL a template database) and each run
starts from a copy: a file copy, or ``CREATE DATABASE … TEMPLATE``, in seconds.

The cache is keyed by what makes the rows: the backend, the sizes, the month the events were
received in, and the contents of the migrations, the event code and the bench's generators;
anything else (the retention code measured) may change freely. ``--reseed`` makes it again.
Older seeds of the same backend are removed when a new one is made."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from rich.console import Console

from bench.retention_load import load_actor, load_old
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

__all__ = ["CACHE_ROOT", "Copy", "Seed", "fresh_copy"]

CACHE_ROOT = Path(tempfile.gettempdir()) / "trailkeeper-bench-cache"
_ROOT = Path(__file__).resolve().parent.parent
_INPUTS = ("src/trailkeeper/storage/{backend}/migrations", "src/trailkeeper/events",
           "bench/data.py", "bench/retention_load.py", "bench/retention_seed.py")  # fmt: skip
TENANTS = ("live", "erase", "erase-twin")


@dataclass(frozen=True, slots=True)
class Seed:
    backend: str
    events: int  # expired events of tenant "bench"
    days: int  # received over this many days from ``start``
    erase_events: int  # events of actor u_big in "erase" and in "erase-twin"
    start: datetime

    def key(self) -> str:
        digest = hashlib.sha256()
        for pattern in _INPUTS:
            path = _ROOT / pattern.format(backend=self.backend)
            for file in sorted(path.rglob("*") if path.is_dir() else [path]):
                if file.is_file() and file.suffix in (".py", ".sql"):
                    digest.update(file.relative_to(_ROOT).as_posix().encode())
                    digest.update(file.read_bytes())
        return (f"retention-{self.backend}-{self.events}-{self.days}-{self.erase_events}-"
                f"{self.start:%Y%m%d}-{digest.hexdigest()[:12]}")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Copy:
    """A fresh deployment made from the seed: remove it with :meth:`drop`."""

    data_dir: Path
    database_url: str | None
    admin_url: str
    seconds: float  # to copy it

    def drop(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.database_url is not None:
            name = self.database_url.rpartition("/")[2]
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _template_name(key: str) -> str:
    return "bench_tk_tpl_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _url(admin_url: str, name: str) -> str:
    return admin_url.rpartition("/")[0] + "/" + name


def _forget_older(seed: Seed, admin_url: str, keep: str) -> None:
    """Older seeds of this backend: their folders and template databases."""
    for old in CACHE_ROOT.glob(f"retention-{seed.backend}-*"):
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
            if seed.backend == "postgresql":
                _drop_database(admin_url, _template_name(old.name))


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make(seed: Seed, admin_url: str, folder: Path, console: Console) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    database_url = None
    if seed.backend == "postgresql":
        name = _template_name(folder.name)
        _drop_database(admin_url, name)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database_url = _url(admin_url, name)
    started = time.perf_counter()
    service = Trailkeeper.open(Settings(data_dir=folder / "data", database_url=database_url))
    try:
        for tenant in TENANTS:
            service.tenancy.create_tenant(tenant)
        load_old(service, "bench", seed.events, seed.start, seed.days)
        load_actor(service, "erase", seed.erase_events, "u_big")
        load_actor(service, "erase-twin", seed.erase_events, "u_big")
    finally:
        service.close()
    if database_url is not None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # as a long-lived database would be
    seconds = time.perf_counter() - started
    (folder / "ready").write_text(f"{seconds:.1f} s to seed\n")
    console.print(f"{seed.backend}: seeded {folder.name} in {seconds:.0f} s")


def fresh_copy(seed: Seed, admin_url: str, console: Console, *, reseed: bool = False) -> Copy:
    """A new deployment holding the seed's tenants and events (seeded first if needed)."""
    key = seed.key()
    folder = CACHE_ROOT / key
    CACHE_ROOT.mkdir(exist_ok=True)
    if reseed or not (folder / "ready").exists():
        _forget_older(seed, admin_url, keep=key)
        _make(seed, admin_url, folder, console)
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix=f"trailkeeper-bench-retention-{seed.backend}-"))
    shutil.copytree(folder / "data", data_dir, dirs_exist_ok=True)
    database_url = None
    if seed.backend == "postgresql":
        name = f"bench_tk_retention_{data_dir.name.rsplit('-', 1)[-1].lower()}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_template_name(key)}"')
        database_url = _url(admin_url, name)
    return Copy(data_dir, database_url, admin_url, time.perf_counter() - started)
