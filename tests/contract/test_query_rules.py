"""One rule for query strings everywhere, and messages that name the real problem."""

from __future__ import annotations

from typing import Any

import pytest

from support import Api, make_event


def _refused(response: Any, *words: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid_request"
    message: str = body["error"]["message"]
    for word in words:
        assert word in message, message
    return message


def test_nul_in_q_and_filters_is_named_as_nul(api: Api) -> None:
    message = _refused(api.get("/v1/events?q=%00"), "NUL", "%00")
    assert "256" not in message
    message = _refused(api.get("/v1/events?actor=%00"), "'actor'", "NUL")
    assert "512" not in message
    _refused(api.get("/v1/facets/action?resource_id=a%00b"), "'resource_id'", "NUL")


def test_empty_and_too_long_values_say_so(api: Api) -> None:
    _refused(api.get("/v1/events?actor="), "'actor' must not be empty")
    _refused(api.get("/v1/events", params={"q": "x" * 257}), "at most 256", "257")
    _refused(api.get("/v1/events", params={"category": "c" * 513}), "at most 512", "513")


@pytest.mark.parametrize("name", ["start", "end"])
def test_a_plus_sent_unencoded_is_explained(api: Api, name: str) -> None:
    # '+' in a query string decodes to a space: the server sees "…00 03:00".
    response = api.get(f"/v1/events?{name}=2026-11-20T13:45:00+03:00")
    _refused(response, f"'{name}'", "%2B")
    encoded = api.get(f"/v1/events?{name}=2026-11-20T13:45:00%2B03:00")
    assert encoded.status_code == 200, encoded.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/events",
        "/v1/events/evt-1",
        "/v1/exports",
        "/v1/exports/exp_1",
        "/v1/facets/action",
        "/v1/runs/run-1",
        "/v1/tokens",
        "/v1/checkpoints/latest",
        "/v1/public-key",
        "/healthz",
    ],
)
def test_unknown_query_parameters_are_refused_on_every_route(api: Api, path: str) -> None:
    params = {"colour": "red", "format": "csv"} if path == "/v1/events" else {"colour": "red"}
    response = api.get(path, params=params)
    message = _refused(response, "'colour'", "Unknown query parameter")
    assert response.json()["error"]["details"][0]["field"] == "colour"
    if path == "/v1/events":
        assert "'format'" in message  # only the download takes a format


@pytest.mark.parametrize(
    "query",
    [
        "/v1/events?limit=1&limit=2",
        "/v1/events?order=asc&order=desc",
        "/v1/events?cursor=a&cursor=b",
        "/v1/events/download?format=csv&format=jsonl",
        "/v1/exports?limit=1&limit=2",
        "/v1/facets/action?limit=5&limit=6",
        "/v1/events/evt-1?proof=true&proof=false",
        "/v1/proofs/inclusion?seq=0&seq=1",
    ],
)
def test_repeated_single_valued_parameters_are_refused(api: Api, query: str) -> None:
    name = query.split("?")[1].split("=")[0]
    _refused(api.get(query), f"'{name}' may be given only once")


def test_repeatable_filters_still_repeat(api: Api) -> None:
    api.ingest(make_event(1), make_event(2, source="api"))
    found = api.events(source=["web", "api"])
    assert {e["id"] for e in found} == {"evt-1", "evt-2"}


def test_enumerated_values_are_case_insensitive(api: Api) -> None:
    api.ingest(make_event(1))
    csv = api.get("/v1/events/download?format=CSV")
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'events.csv"' in csv.headers["content-disposition"]
    page = api.get("/v1/events?order=ASC")
    assert page.status_code == 200, page.text
    export = api.post("/v1/exports", {"format": "CSV", "compression": "GZIP"})
    assert export.status_code == 202, export.text
    assert (export.json()["format"], export.json()["compression"]) == ("csv", "gzip")
