"""The auditor's code of ``docs/integrity.md`` runs as printed against a real server: the
verifier (``auditor.py``) and ``check_event`` / ``check_growth``, in a Python where
trailkeeper cannot be imported, with only the constants of the page replaced."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import Api, make_event
from trailkeeper.integrity import Signer
from trailkeeper.service import Trailkeeper

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "integrity.md"


def doc_blocks() -> tuple[str, str]:
    """The verifier and the ``check_event`` block (the ones defining functions)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    verifier = next(b for b in blocks if "def open_checkpoint" in b)
    checks = next(b for b in blocks if "def check_event" in b)
    return verifier, checks


def auditor_script(tmp_path: Path, base: str, token: str, key: str, origin: str) -> Path:
    verifier, checks = doc_blocks()
    assert not re.search(r"^\s*(import|from)\s+trailkeeper", verifier + checks, re.MULTILINE)
    for name, value in (("BASE", base), ("TOKEN", token), ("VERIFIER_KEY", key)):
        checks, count = re.subn(rf'^{name} = ".*"', f"{name} = {value!r}", checks, flags=re.M)
        assert count == 1, name
    checks, count = re.subn(r'^ORIGIN = ".*"', f"ORIGIN = {origin!r}", checks, flags=re.M)
    assert count == 1
    path = tmp_path / "auditor.py"
    path.write_text(verifier + "\n" + checks + MAIN, encoding="utf-8")
    return path


MAIN = """
import sys

action = sys.argv[1]
if action == "event":
    print("proven in a tree of", check_event(sys.argv[2]))
elif action == "growth":
    kept = sys.stdin.read()
    print(check_growth(kept), end="")
"""


def run(script: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``python -I`` (no PYTHONPATH, no user site) with trailkeeper made unimportable."""
    bootstrap = (
        "import runpy, sys; sys.modules['trailkeeper'] = None; "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", "-c", bootstrap, str(script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def client(live_client: httpx.Client) -> httpx.Client:
    """The auditor's script runs in its own process: it needs a real server on loopback."""
    return live_client


def checkpoint_note(api: Api) -> Any:
    response = api.get("/v1/checkpoints/latest")
    assert response.status_code == 200, response.text
    return response.json()["checkpoint"]


def test_the_auditors_code_proves_events_and_growth(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    tenant = service.tenancy.tenant(api.tenant)
    receipts = api.ingest(*(make_event(i) for i in range(20)))
    service.integrity.sync(tenant.id)
    kept = checkpoint_note(api)
    token = api.token_with("audit-log:list")
    key = service.integrity.verifier_key
    base = str(api.client.base_url).rstrip("/")
    script = auditor_script(tmp_path, base, token, key, f"trailkeeper/{api.tenant}")

    done = run(script, "event", receipts[7]["id"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "proven in a tree of 21"  # seq 0: the token's own event

    api.ingest(*(make_event(i) for i in range(20, 30)))
    service.integrity.sync(tenant.id)
    done = run(script, "growth", stdin=kept)
    assert done.returncode == 0, done.stderr
    assert done.stdout == checkpoint_note(api)

    other = Signer.generate("trailkeeper").verifier().key_string
    forged = auditor_script(tmp_path, base, token, other, f"trailkeeper/{api.tenant}")
    done = run(forged, "event", receipts[7]["id"])
    assert done.returncode != 0
    assert "Error" in done.stderr
