"""``POST /v1/events`` answered by the short way in front of the router (``ingestpath``) and
by the route give the same answers: status, body and headers, over generated bodies and
callers; and the short way declines what it must leave to the route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles import examples
from support import Api, InProcess, make_event, new_tenant
from trailkeeper.api import create_app
from trailkeeper.api.ingestpath import INLINE_BYTES
from trailkeeper.service import Trailkeeper

_VARYING = ("x-rate-limit-remaining", "x-rate-limit-reset", "retry-after", "x-retry-after")
_BROKEN = [
    {"action": 5},
    {"occurred_at": "yesterday"},
    {"actor": {"id": ""}},
    {"id": "x" * 300},
    {"unknown_field": 1},
    {"actor": None},
    {"metadata": "not an object"},
]


def _event(index: int, broken: int | None, flavour: int) -> dict[str, Any]:
    if broken is None:
        return make_event(index, metadata={"n": flavour}, source=f"s{flavour % 4}")
    event = make_event(index)
    for key, value in _BROKEN[broken].items():
        event[key] = value
    return event


_bodies = st.one_of(
    st.builds(
        lambda index, broken, flavour, wrap: orjson.dumps(
            {"events": [_event(index, broken, flavour)]} if wrap else _event(index, broken, flavour)
        ),
        st.integers(0, 30),
        st.none() | st.integers(0, len(_BROKEN) - 1),
        st.integers(0, 3),
        st.booleans(),
    ),
    st.lists(st.integers(0, 30), min_size=0, max_size=4).map(
        lambda ids: orjson.dumps({"events": [make_event(i) for i in ids]})
    ),
    st.sampled_from([b"", b"{", b"[]", b"null", b'{"events": 5}', b"\xff\xfe", b'{"a":1,"a":2}']),
)


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in _VARYING}
    return response.status_code, response.json(), headers


@pytest.fixture
def app(service: Trailkeeper) -> FastAPI:
    return create_app(service)


@pytest.fixture
def api(service: Trailkeeper, app: FastAPI) -> Iterator[Api]:
    """A tenant on a client of ``app`` (the fixture of the same name, on an app of its own)."""
    with httpx.Client(transport=InProcess(app), base_url="http://127.0.0.1:8000") as client:
        yield new_tenant(service, client)


def _shortcut(app: FastAPI) -> Any:
    return app.state.ingest_shortcut


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=_bodies, caller=st.sampled_from(["admin", "reader", "revoked", "unknown"]))
def test_the_short_way_answers_as_the_route_does(
    service: Trailkeeper,
    app: FastAPI,
    api: Api,
    callers: dict[str, str],
    body: bytes,
    caller: str,
) -> None:
    headers = {"Authorization": f"Bearer {callers[caller]}", "Content-Type": "application/json"}
    shortcut = _shortcut(app)
    principal = service.tenancy.remembered(headers["Authorization"])
    before = shortcut.handled
    short = api.client.post("/v1/events", content=body, headers=headers)
    assert shortcut.handled == before + (principal is not None)
    if principal is not None:
        service.tenancy.forget(principal)  # the next request goes through the route
    routed = api.client.post("/v1/events", content=body, headers=headers)
    assert shortcut.handled == before + (principal is not None)
    assert _answer(short) == _answer(routed)
    if "x-rate-limit-remaining" in short.headers:
        remaining = int(short.headers["x-rate-limit-remaining"])
        assert int(routed.headers["x-rate-limit-remaining"]) == max(0, remaining - 1)


@pytest.fixture
def callers(service: Trailkeeper, api: Api) -> dict[str, str]:
    """Tokens of each kind, each used once so that the process remembers it."""
    reader = api.token_with("audit-log:list")
    revoked = api.token_with("events:write")
    found = {"admin": api.token, "reader": reader, "revoked": revoked, "unknown": "tk_" + "a" * 40}
    for token in found.values():
        api.client.post(
            "/v1/events", json=make_event(999), headers={"Authorization": f"Bearer {token}"}
        )
    token_id = next(
        t["id"] for t in api.get("/v1/tokens").json()["data"] if t["scopes"] == ["events:write"]
    )
    assert api.delete(f"/v1/tokens/{token_id}").status_code == 200
    return found


def test_what_the_short_way_leaves_to_the_route(app: FastAPI, api: Api) -> None:
    api.ingest(make_event(1))  # the token is remembered from now on
    shortcut = _shortcut(app)
    before = shortcut.handled
    assert api.post("/v1/events", make_event(2)).status_code == 201
    assert shortcut.handled == before + 1
    queried = api.post("/v1/events", make_event(3), params={"dry": "1"})
    assert queried.status_code == 400, queried.text
    assert "Unknown query parameter 'dry'" in queried.json()["error"]["message"]
    big = make_event(4, metadata={"blob": "x" * INLINE_BYTES})
    assert api.post("/v1/events", big).status_code == 201
    plain = orjson.dumps(make_event(5))
    encoded = api.client.post(
        "/v1/events",
        content=plain,
        headers={**api.auth, "Content-Encoding": "identity", "Content-Type": "application/json"},
    )
    assert encoded.status_code == 201, encoded.text
    assert shortcut.handled == before + 1
    assert [e["id"] for e in api.events()] == ["evt-5", "evt-4", "evt-2", "evt-1"]
