"""``verify [--tenant T]``: re-check the whole stored log against its signed checkpoints.

Exit 0 only when every tenant checked is intact, 1 when anything was altered, inserted,
removed or reordered (the first bad ``seq`` is named), 2 when verification could not start."""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from trailkeeper.cli.keyarg import key_argument
from trailkeeper.cli.options import (
    DatabaseUrl,
    DataDir,
    JsonOut,
    console,
    open_service,
    settings_from,
)
from trailkeeper.errors import TrailkeeperError
from trailkeeper.integrity import IntegrityError, Verifier, parse_verifier_key
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.tenants import Tenant
from trailkeeper.verify import VerificationReport, verify_tenant
from trailkeeper.workerpool import worker_pool

__all__ = ["verify"]

SHOWN = 20
"""Problems listed per tenant."""
SHOWN_JSON = 100


def _default_workers() -> int:
    """Worker processes that read and check chunks of the log: one per CPU, at most 8
    (this process only merges what they find)."""
    return max(1, min(8, os.cpu_count() or 1))


TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="Tenant name (default: every tenant)")
]
PublicKeyOption = Annotated[
    str | None,
    typer.Option(
        "--public-key",
        help="Verifier key (name+id+key), @FILE or a file holding it, that the checkpoints "
        "must be signed with (default: this deployment's own, as `keys show` prints it)",
        show_default=False,
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=0,
        help="Processes that read and check chunks of the log in parallel "
        "(default: one per CPU, at most 8; 0 checks in this process)",
        show_default=False,
    ),
]
AllowUnsealedOption = Annotated[
    bool,
    typer.Option(
        "--allow-unsealed",
        help="Accept a log that has events but no checkpoint yet (nothing signed vouches "
        "for them: a log whose checkpoints were deleted looks the same)",
    ),
]


def verify(
    tenant: TenantOption = None,
    public_key: PublicKeyOption = None,
    workers: WorkersOption = None,
    allow_unsealed: AllowUnsealedOption = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """Re-check the stored log: every leaf, checkpoint and the tree between them.

    Exit 0 only if intact; otherwise names the first bad seq and what is wrong. A log with
    events but no checkpoint fails too, unless --allow-unsealed."""
    settings = settings_from(data_dir=data_dir, database_url=database_url)
    processes = _default_workers() if workers is None else workers
    # started before the store is opened: forked workers then share none of its state
    pool = worker_pool(processes) if processes > 0 else None
    try:
        service = open_service(settings)
        try:
            verifier = _verifier(service, public_key)
            reports = [
                _verify_one(service, target, verifier, processes, pool, quiet=json)
                for target in _targets(service, tenant)
            ]
        finally:
            service.close()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not _shown(reports, verifier, json=json, allow_unsealed=allow_unsealed):
        raise typer.Exit(1)


def _shown(
    reports: list[VerificationReport], verifier: Verifier, *, json: bool, allow_unsealed: bool
) -> bool:
    """Print the reports; whether they all pass (intact, and sealed unless allowed)."""
    unsealed = [r for r in reports if r.unsealed and not allow_unsealed]
    ok = all(r.ok for r in reports) and not unsealed
    if json:
        body = {
            "ok": ok,
            "allow_unsealed": allow_unsealed,
            "verifier_key": verifier.key_string,
            "tenants": [r.as_dict(SHOWN_JSON) for r in reports],
        }
        typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        if not reports:
            console.print("no tenants to verify")
        for report in reports:
            if not (report.ok and report in unsealed):  # not "OK": the warning says why
                _print(report)
    for report in unsealed:
        _warn_unsealed(report)
    return ok


def _verifier(service: Trailkeeper, public_key: str | None) -> Verifier:
    try:
        key = service.integrity.verifier_key if public_key is None else key_argument(public_key)
        return parse_verifier_key(key)
    except (IntegrityError, ValueError) as exc:  # KeyFileError included
        console.print(f"[red]error:[/] --public-key is not a verifier key: {escape(str(exc))}")
        raise typer.Exit(2) from None


def _targets(service: Trailkeeper, name: str | None) -> list[Tenant]:
    if name is None:
        return service.store.tenants()
    try:
        return [service.tenancy.tenant(name)]
    except TrailkeeperError as exc:
        console.print(f"[red]error:[/] {escape(exc.message)}")
        raise typer.Exit(2) from None


def _verify_one(
    service: Trailkeeper,
    tenant: Tenant,
    verifier: Verifier,
    workers: int,
    pool: Executor | None,
    *,
    quiet: bool,
) -> VerificationReport:
    store = service.store
    latest = store.checkpoint(tenant.id)
    expected = max(store.tree_state(tenant.id).size, 0 if latest is None else latest.size)
    columns = (
        TextColumn(f"[bold]verify[/] {escape(tenant.name)}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,} events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=quiet, transient=True) as progress:
        task = progress.add_task("verify", total=expected or None)

        def advance(done: int) -> None:
            progress.update(task, completed=done, total=max(expected, done) or None)

        return verify_tenant(store, tenant, verifier, advance, workers=workers, pool=pool)


def _warn_unsealed(report: VerificationReport) -> None:
    """Loudly, on stderr (also under --json): a log with events and no checkpoint fails."""
    console.print(
        f"[bold red]WARNING: tenant {escape(report.tenant)} has {report.log_size:,} events "
        "but no checkpoint:[/] nothing signed vouches for them, so tampering cannot be "
        "ruled out (were the checkpoints deleted?). A deployment signs one within seconds "
        "of new events while `trailkeeper serve` (or `worker`) runs; to accept a log that "
        "was never sealed, pass --allow-unsealed."
    )


def _print(report: VerificationReport) -> None:
    name = escape(report.tenant)
    rate = f"{report.events_per_second:,.0f} events/s" if report.seconds > 0 else ""
    if report.latest_checkpoint is None:
        signed = "no checkpoint yet"
    else:
        signed = (
            f"{report.checkpoints_verified:,} of {report.checkpoints:,} checkpoints verified "
            f"(latest: tree size {report.latest_checkpoint:,})"
        )
    if report.ok:
        removed = (
            f"{report.removed:,} events archived/deleted by retention "
            f"(seq 0–{report.removed - 1:,}), the rest intact — "
            if report.removed
            else "intact — "
        )
        console.print(
            f"[green]OK[/] tenant {name}: {removed}{report.events:,} events, {signed}; "
            f"{report.seconds:.1f} s, {rate}"
        )
        return
    first = report.first_problem
    assert first is not None
    where = "" if first.seq is None else f"first bad seq {first.seq}: "
    console.print(f"[red]FAILED[/] tenant {name}: {where}{first.kind}: {escape(first.message)}")
    console.print(f"  {report.problem_count:,} problem(s); {report.events:,} events read, {signed}")
    if report.checkpoints and not report.checkpoints_signed:
        console.print(
            "  none of the stored checkpoints is signed by the verifier key: if they are "
            "genuine, this process has another signing key than the deployment (give "
            "--public-key, or the deployment's TRAILKEEPER_SIGNING_KEY or signing.key)"
        )
    for problem in report.problems[:SHOWN]:
        seq = "-" if problem.seq is None else str(problem.seq)
        console.print(f"  seq {seq:>8}  {problem.kind:<10}  {escape(problem.message)}")
    if report.problem_count > SHOWN:
        more = report.problem_count - SHOWN
        console.print(f"  … and {more:,} more (--json lists up to {SHOWN_JSON})")
