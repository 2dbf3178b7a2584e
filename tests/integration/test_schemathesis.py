"""The OpenAPI description is the truth: schemathesis against a real server.

A bounded, deterministic run (a fixed number of cases per operation, no random
seed) over every operation of the whole app, so routes added later are covered
without a change here, with every check enabled: status codes, content types,
headers and response bodies must match the description; schema-valid requests
must be accepted and schema-invalid ones refused; requests without or with a
wrong token must get 401."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import Api, LiveServer, make_event
from trailkeeper.api import create_app
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import CLI_ACTOR
from trailkeeper.settings import Settings

ST = Path(sys.executable).parent / "st"
TESTS = Path(__file__).resolve().parent.parent
EXAMPLES_PER_OPERATION = 15
SEEDED_EVENTS = 12


def st_command(base_url: str, token: str, report: Path) -> list[str]:
    return [
        str(ST), "run", f"{base_url}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--generation-deterministic",
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit",
        "--report-dir", str(report),
    ]  # fmt: skip


def _delete_streams(service: Trailkeeper, tenant_name: str) -> None:
    """The run creates active streams; on the session's shared PostgreSQL database a later
    test's worker would otherwise claim them and spend its time on their closed port."""
    tenant = service.tenancy.tenant(tenant_name)
    for stream in service.streams.list(tenant):
        service.streams.delete(tenant, stream["id"], CLI_ACTOR, source="cli")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Private destinations allowed: the hooks point every stream at a closed
    loopback port, so nothing generated is ever sent beyond this machine."""
    return settings.model_copy(update={"allow_private_destinations": True})


def test_every_operation_conforms_to_the_openapi_description(
    service: Trailkeeper, tmp_path: Path
) -> None:
    with LiveServer(create_app(service)) as base_url, httpx.Client(base_url=base_url) as http:
        created = service.tenancy.create_tenant("schemathesis")
        api = Api(http, "schemathesis", created["admin_token"])
        api.ingest(*(make_event(i) for i in range(SEEDED_EVENTS)))
        assert api.post("/v1/checkpoints").status_code == 201
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
            "TK_SCHEMATHESIS_TREE_SIZE": str(SEEDED_EVENTS),
        }
        try:
            run = subprocess.run(
                st_command(base_url, api.token, tmp_path / "report"),
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                cwd=tmp_path,
            )
        finally:
            _delete_streams(service, "schemathesis")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20_000:]
    summary = output[output.rfind("Test cases:") :]
    assert " 0 " not in summary.splitlines()[1][:4], summary  # some cases really ran
    print(summary)
