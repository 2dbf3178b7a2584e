"""The shell blocks of README.md and docs/**/*.md run as printed, against a real server.

Every ```sh block runs, in order, one bash session per file (``set -euo pipefail``), in a
folder laid out like the repository after ``./scripts/serve``: ``.venv`` (a link to this
one), and ``trailkeeper-data`` of a real ``trailkeeper serve --demo`` started there. Two
things differ from a reader's shell, all stated here:

- the server listens on a free port, so ``127.0.0.1:8000`` in the blocks is replaced by its
  address, and nothing else is changed;
- ``curl`` is run with ``--fail-with-body``, so an HTTP error fails the block instead of
  printing an error envelope that would go unnoticed;
- for the files under ``docs/``, ``.venv/bin`` is on the PATH, as after the README's
  ``source .venv/bin/activate`` (the README's own blocks must say it themselves).

A block is left out only when the line before it says
``<!-- docs test: not run (REASON) -->``; those blocks may only start servers, workers,
the test suite or benchmarks, or be templates with placeholders (``…``) for the reader's
own values; ``export`` lines may set up the server such a block starts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from serve_support import serving

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]  # docs/siem/ too
SKIP = re.compile(r"^<!-- docs test: not run \((.+)\) -->$")
LONG_RUNNING = re.compile(
    r"^(\./scripts/(serve|test)|trailkeeper (serve|worker)"
    r"|\.venv/bin/python (-m bench|bench/)|(TRAILKEEPER_\w+=\S+ )?\.venv/bin/pytest )"
)


@dataclass(frozen=True)
class Block:
    file: Path
    line: int
    text: str
    skipped: str | None  # the reason, when not run


def shell_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```sh":
            end = lines.index("```", index + 1)
            before = lines[index - 1].strip() if index else ""
            skip = SKIP.match(before)
            text = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(path, index + 1, text, skip.group(1) if skip else None))
            index = end
        index += 1
    return blocks


def test_every_siem_page_has_commands_that_run() -> None:
    pages = sorted((ROOT / "docs" / "siem").glob("*.md"))
    assert len(pages) == 9  # README, formats and one per destination type
    for page in pages:
        if page.name != "formats.md":
            assert runnable(page), f"{page.name}: no shell block is run"


def test_blocks_left_out_only_start_servers_or_are_templates() -> None:
    skipped = [b for f in FILES for b in shell_blocks(f) if b.skipped]
    assert skipped, "the README's ./scripts/serve block is expected among them"
    for block in skipped:
        if "…" in block.text:  # a template: the reader fills in their own values
            continue
        commands = [
            line for line in block.text.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "export "))
        ]  # fmt: skip
        for command in commands:
            assert LONG_RUNNING.match(command), f"{block.file.name}:{block.line}: {command}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> object:
    folder = tmp_path_factory.mktemp("checkout")
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)
    shims = folder / "shims"
    shims.mkdir()
    curl = shims / "curl"
    curl.write_text('#!/bin/sh\nexec /usr/bin/curl --fail-with-body "$@"\n')
    curl.chmod(0o755)
    with serving(folder, "--demo") as (url, _, _):
        yield folder, url


def run_file(site: tuple[Path, str], path: Path) -> subprocess.CompletedProcess[str]:
    folder, url = site
    address = url.removeprefix("http://")
    script = ["set -euo pipefail"]
    for block in shell_blocks(path):
        if block.skipped is None:
            script.append(f"echo '>>> {path.name}:{block.line}' >&2")
            script.append(block.text.replace("127.0.0.1:8000", address))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAILKEEPER_", "VIRTUAL_ENV"))}
    ours = str(Path(sys.executable).parent)  # never inherited: a block must activate it
    inherited = ":".join(p for p in env["PATH"].split(":") if p != ours)
    venv = "" if path == ROOT / "README.md" else f"{folder / '.venv' / 'bin'}:"
    env["PATH"] = f"{folder / 'shims'}:{venv}{inherited}"
    env.update(COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=folder, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def runnable(path: Path) -> bool:
    return any(b.skipped is None for b in shell_blocks(path))


def test_the_readme_runs_as_printed(site: tuple[Path, str]) -> None:
    done = run_file(site, ROOT / "README.md")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout + done.stderr
    assert '"id":"evt-1"' in out.replace(" ", "")
    assert "OK export.parquet: intact" in out
    assert "OK tenant demo: intact" in out
    assert "stored 1 events (1 new, 0 already present) in tenant 'acme'" in " ".join(out.split())


@pytest.mark.parametrize(
    "path", [p for p in FILES[1:] if runnable(p)], ids=lambda p: str(p.relative_to(ROOT / "docs"))
)
def test_the_docs_shell_blocks_run_as_printed(site: tuple[Path, str], path: Path) -> None:
    done = run_file(site, path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
