"""``serve --demo``: the demo tenant, its admin token kept across restarts, and the banner.

The token is kept in ``<data dir>/demo.token`` (0600, beside the deployment's keys), so a
restart prints the same token instead of minting another admin token each time; a token
revoked since is replaced. The webhook secret exists only when the tenant is created, so it
is printed then, once."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trailkeeper.errors import Unauthenticated
from trailkeeper.events.batch import MAX_BATCH
from trailkeeper.private_files import private_dir
from trailkeeper.service import Trailkeeper

__all__ = ["DEMO_TENANT", "DEMO_TOKEN_FILE", "Demo", "banner", "seed_demo"]

DEMO_TENANT = "demo"
DEMO_TOKEN_FILE = "demo.token"  # noqa: S105 (a file name)
DEMO_TOKEN_NAME = "demo admin (serve --demo)"  # noqa: S105 (a label)


@dataclass(frozen=True, slots=True)
class Demo:
    token: str
    token_file: Path
    events_created: int = 0  # events made now; 0 when the tenant was there already
    webhook_secret: str | None = None  # only when the tenant was created now


def seed_demo(service: Trailkeeper) -> Demo:
    """Create the demo tenant with ~2,000 events the first time; reuse its token after."""
    from trailkeeper.demo import demo_events

    tenancy = service.tenancy
    token_file = service.settings.data_dir / DEMO_TOKEN_FILE
    if service.store.tenant_by_name(DEMO_TENANT) is None:
        created = tenancy.create_tenant(DEMO_TENANT)
        tenant = tenancy.tenant(DEMO_TENANT)
        events = demo_events(datetime.now(UTC))
        for start in range(0, len(events), MAX_BATCH):
            service.ingest_events(tenant, events[start : start + MAX_BATCH])
        _write_private(token_file, created["admin_token"])
        return Demo(created["admin_token"], token_file, len(events), created["webhook_secret"])
    kept = _kept_token(service, token_file)
    if kept is not None:
        return Demo(kept, token_file)
    made = tenancy.create_token(tenancy.tenant(DEMO_TENANT), DEMO_TOKEN_NAME, ["admin"], None)
    _write_private(token_file, str(made["token"]))
    return Demo(str(made["token"]), token_file)


def _kept_token(service: Trailkeeper, token_file: Path) -> str | None:
    """The token of an earlier start, if it still works for the demo tenant."""
    try:
        token = token_file.read_text(encoding="utf-8").strip()
        principal = service.tenancy.authenticate(f"Bearer {token}")
    except (OSError, UnicodeDecodeError, Unauthenticated):
        return None
    admin = "admin" in principal.token.scopes
    return token if principal.tenant.name == DEMO_TENANT and admin else None


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, 0600."""
    private_dir(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
            handle.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def banner(demo: Demo, base: str, *, ui: bool) -> list[str]:
    """What ``serve --demo`` prints, one line each, never wrapped (copy-paste must work).

    Add a line here for each new thing a demo user should open."""
    lines = []
    if demo.events_created:
        lines.append(f"created tenant {DEMO_TENANT} with {demo.events_created:,} events")
    if ui:
        lines.append(f"UI:             {base}/")
    lines.append(f"API docs:       {base}/docs")
    lines.append(f"admin token:    {demo.token}  (tenant {DEMO_TENANT}; also in {demo.token_file})")
    if demo.webhook_secret is not None:
        lines.append(f"webhook secret: {demo.webhook_secret}  (shown once; signs demo webhooks)")
    lines.append(
        f"try:            curl -H 'Authorization: Bearer {demo.token}' '{base}/v1/events?limit=5'"
    )
    return lines
