"""``verify-export FILE``: check an exported file offline against its signed manifest.

Needs nothing but the file, its manifest and the verifier key (CONTRACT section 8). Exit 0
only when intact, 1 when anything fails (the first bad line or row is named), 2 when the
input is unusable (a missing file, a manifest that is not JSON, a malformed key)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from trailkeeper.cli.keyarg import KEY_HELP, KeyFileError, key_argument
from trailkeeper.cli.options import DatabaseUrl, DataDir, JsonOut, console, settings_from
from trailkeeper.exports.checking import ExportCheck
from trailkeeper.exports.checking import verify_export as check_export
from trailkeeper.exports.manifest import MANIFEST_SUFFIX, ManifestError, load_manifest
from trailkeeper.integrity import IntegrityError, Verifier, parse_verifier_key
from trailkeeper.signing import SIGNING_KEY_FILE, SigningKeyError, load_signer

__all__ = ["verify_export"]


def verify_export(
    file: Annotated[Path, typer.Argument(help="The exported file", show_default=False)],
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest", help="Its manifest (default: FILE.manifest.json)", show_default=False
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help=f"{KEY_HELP} (default: this deployment's own, from --data-dir or "
            "TRAILKEEPER_SIGNING_KEY)",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """Check an exported file against its signed manifest, offline.

    Exit 0 only if intact; otherwise names the first bad line (row for Parquet)."""
    if not file.is_file():
        _unusable(f"no such file: {file}", json=json)
    manifest_path = manifest if manifest is not None else Path(f"{file}{MANIFEST_SUFFIX}")
    verifier = _verifier(public_key, data_dir, database_url, json=json)
    parsed = _manifest(manifest_path, json=json)
    columns = (
        TextColumn(f"[bold]verify-export[/] {escape(file.name)}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, disable=json, transient=True) as progress:
            task = progress.add_task("verify-export", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            check = check_export(file, parsed, verifier, advance)
    except OSError as exc:
        _unusable(f"cannot read {file}: {exc.strerror or exc}", json=json)
    if json:
        typer.echo(orjson.dumps(_report(check, file, parsed, verifier)).decode())
    else:
        _print(check, file)
    if not check.ok:
        raise typer.Exit(1)


def _verifier(
    public_key: str | None, data_dir: Path | None, database_url: str | None, *, json: bool
) -> Verifier:
    """The key from ``--public-key`` (text or a file), else the deployment's signing key."""
    if public_key is not None:
        try:
            text = key_argument(public_key)
        except KeyFileError as exc:
            _unusable(f"--public-key: {exc}", json=json)
        try:
            return parse_verifier_key(text)
        except (IntegrityError, ValueError) as exc:
            _unusable(f"--public-key is not a verifier key: {exc}", json=json)
    settings = settings_from(data_dir=data_dir, database_url=database_url)
    if settings.signing_key is None and not (settings.data_dir / SIGNING_KEY_FILE).is_file():
        _unusable(
            f"no verifier key: {settings.data_dir / SIGNING_KEY_FILE} does not exist; give "
            "--public-key (as `trailkeeper keys show` prints it on the deployment) or the "
            "deployment's --data-dir",
            json=json,
        )
    try:
        return load_signer(settings).verifier()
    except SigningKeyError as exc:
        _unusable(str(exc), json=json)


def _manifest(path: Path, *, json: bool) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        _unusable(f"cannot read the manifest {path}: {exc.strerror or exc}", json=json)
    try:
        return load_manifest(data)
    except ManifestError as exc:
        _unusable(f"{path}: {exc}", json=json)


def _unusable(message: str, *, json: bool) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}")
    if json:
        typer.echo(orjson.dumps({"ok": False, "error": message}).decode())
    raise typer.Exit(2)


def _report(
    check: ExportCheck, file: Path, manifest: dict[str, Any], verifier: Verifier
) -> dict[str, Any]:
    return {
        "file": str(file),
        "export_id": manifest.get("export_id"),
        "tenant": manifest.get("tenant"),
        "verifier_key": verifier.key_string,
        **check.as_dict(),
    }


def _print(check: ExportCheck, file: Path) -> None:
    name = escape(str(file))
    if check.ok:
        console.print(f"[green]OK[/] {name}: {escape(check.message)}")
        return
    console.print(f"[red]FAILED[/] {name}: {escape(check.message)}")
    if check.events:
        console.print(f"  {check.events:,} event(s) read before stopping")
