"""POST /graphql: auditLogs over the list filters and cursors, the export fields, the
Pipefy-compatible mutation, scopes, rate limits, and errors that are never a 500."""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from support import Api, LiveServer, make_event
from trailkeeper.api import create_app
from trailkeeper.ratelimit import RateLimiter
from trailkeeper.service import Trailkeeper

PIPEFY_DENIED = "You don't have permission to perform this action"
EVENT_FIELDS = """
    id seq action category occurredAt receivedAt
    actor { id type name email } resource { type id name }
    source ip userAgent changes run metadata pii leafHash
"""
EXPORT_FIELDS = """
    id status format compression start end resource { type id } filters createdAt
    startedAt completedAt eventCount bytes sha256 error downloadUrl downloadExpiresAt
    manifestUrl
"""
LIST = """
query List($filter: AuditLogFilter, $first: Int! = 100, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id category } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
PIPEFY = """
mutation ExportPipeAuditLogsReport($pipeUuid: ID!, $searchTerm: String) {
  exportPipeAuditLogsReport(pipeUuid: $pipeUuid, searchTerm: $searchTerm) {
    success
  }
}
"""
EDGES = " fragment E on AuditLogConnection { edges { cursor } }"
PIPE_UUID = "87654321-4321-4321-4321-cba987654321"


def post(api: Api, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return api.post("/graphql", body, **kwargs)


def gql(
    api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """The GraphQL response body; asserts HTTP 200 (GraphQL errors travel inside it)."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = post(api, query, variables, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def one_error(body: dict[str, Any], field: str, code: str) -> dict[str, Any]:
    """The single error of ``field``, whose value is null; checks its code and shape."""
    assert body["data"] is not None, body
    assert body["data"][field] is None, body
    [error] = body["errors"]
    assert error["path"] == [field], error
    assert error["extensions"]["code"] == code, error
    assert error["locations"]
    assert {"line", "column"} <= set(error["locations"][0])
    return dict(error)


def listed(
    api: Api, filter: dict[str, Any] | None = None, first: int = 999, token: str | None = None
) -> list[str]:
    """Ids of every matching event (not self-audit), following endCursor to the end."""
    ids: list[str] = []
    after = None
    while True:
        variables = {"filter": filter, "first": first, "after": after}
        page = ok(gql(api, LIST, variables, token))["auditLogs"]
        ids += [e["node"]["id"] for e in page["edges"] if e["node"]["category"] != "trailkeeper"]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


def _seed(api: Api) -> None:
    api.ingest(
        make_event(0, action="card.moved"),
        make_event(1, action="card.created", source="api", ip="198.51.100.7"),
        make_event(2, action="cards.archived"),
        make_event(3, action="user.login", resource=None, category="auth"),
        make_event(
            4,
            action="pipe.field.updated",
            resource={"type": "pipe", "id": "p2", "name": "Purchases"},
            actor={"id": "u_ana", "name": "Ana SOUZA", "email": "ana@corp.example"},
        ),
        make_event(5, action="flow.run.step.succeeded", run={"id": "run_7", "step": "a"}),
    )


@pytest.mark.parametrize(
    ("filter", "rest", "expected"),
    [
        (None, {}, [5, 4, 3, 2, 1, 0]),
        ({"order": "ASC"}, {"order": "asc"}, [0, 1, 2, 3, 4, 5]),
        ({"actor": ["u_1"]}, {"actor": "u_1"}, [1]),
        ({"actor": ["u_0", "ana@corp.example"]}, {"actor": ["u_0", "ana@corp.example"]}, [4, 3, 0]),
        ({"action": ["card.*", "user.login"]}, {"action": ["card.*", "user.login"]}, [3, 1, 0]),
        ({"category": ["auth"]}, {"category": "auth"}, [3]),
        ({"source": ["api"]}, {"source": "api"}, [1]),
        (
            {"resourceType": ["pipe"], "resourceId": ["p2"]},
            {"resource_type": "pipe", "resource_id": "p2"},
            [4],
        ),
        (
            {"resourceId": ["p1"], "action": ["card.*"]},
            {"resource_id": "p1", "action": "card.*"},
            [1, 0],
        ),
        ({"runId": ["run_7"]}, {"run_id": "run_7"}, [5]),
        ({"ip": ["198.51.100.7"]}, {"ip": "198.51.100.7"}, [1]),
        ({"q": "souza"}, {"q": "souza"}, [4]),
        ({"q": "U2@"}, {"q": "U2@"}, [5, 2]),
        (
            {"start": "2026-11-10T12:02:00Z", "end": "2026-11-10T12:04:00Z"},
            {"start": "2026-11-10T12:02:00Z", "end": "2026-11-10T12:04:00Z"},
            [4, 3, 2],
        ),
        ({"start": "2026-11-11"}, {"start": "2026-11-11"}, []),
    ],
)
def test_filters_match_the_list_endpoint(
    api: Api, filter: dict[str, Any] | None, rest: dict[str, Any], expected: list[int]
) -> None:
    """OR within a filter's values, AND across filters, exactly like GET /v1/events."""
    _seed(api)
    ids = listed(api, filter)
    assert ids == [f"evt-{i}" for i in expected]
    assert ids == [e["id"] for e in api.events(**rest)]


def test_event_has_every_field_the_rest_api_returns(api: Api) -> None:
    event = make_event(
        7,
        user_agent="Mozilla/5.0",
        run={"id": "run_1", "flow": "SLA", "status": "succeeded", "input": {"a": [1, None]}},
        actor={"id": "u_7", "type": "automation", "name": "Bot"},
    )
    api.ingest(event)
    query = '{ auditLogs(first: 1, filter: {actor: ["u_7"]}) { edges { node { %s } } } }'
    [edge] = ok(gql(api, query % EVENT_FIELDS))["auditLogs"]["edges"]
    [view] = api.events(actor="u_7")
    node = edge["node"]
    assert node["seq"] == view["seq"]
    assert isinstance(node["seq"], int)
    assert node["actor"] == view["actor"]
    assert node["resource"] == view["resource"]
    camel = {"occurred_at": "occurredAt", "received_at": "receivedAt"}
    camel |= {"user_agent": "userAgent", "leaf_hash": "leafHash"}
    assert {camel.get(key, key): value for key, value in view.items()} == node


@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_paging_with_after_gives_every_event_exactly_once(api: Api, order: str) -> None:
    api.ingest(*(make_event(i) for i in range(23)))
    everything = listed(api, {"order": order}, first=999)
    assert len(everything) == 23
    paged = listed(api, {"order": order}, first=4)
    assert paged == everything
    # Every edge's cursor resumes right after its own event.
    page = ok(gql(api, LIST, {"filter": {"order": order}, "first": 10}))["auditLogs"]
    middle = page["edges"][6]
    rest = ok(gql(api, LIST, {"filter": {"order": order}, "first": 999, "after": middle["cursor"]}))
    after_middle = [e["node"]["id"] for e in rest["auditLogs"]["edges"]]
    position = everything.index(middle["node"]["id"])
    assert [i for i in after_middle if i in everything] == everything[position + 1 :]
    info = page["pageInfo"]
    assert info["hasNextPage"] is True
    assert info["hasPreviousPage"] is False
    assert info["startCursor"] == page["edges"][0]["cursor"]
    assert info["endCursor"] == page["edges"][-1]["cursor"]


def test_ascending_end_cursor_polls_only_new_events(api: Api) -> None:
    api.ingest(*(make_event(i) for i in range(3)))
    first = ok(gql(api, LIST, {"filter": {"order": "ASC", "actor": ["u_0", "u_1", "u_2"]}}))
    info = first["auditLogs"]["pageInfo"]
    assert info["hasNextPage"] is False
    assert info["endCursor"] is not None
    api.ingest(*(make_event(i) for i in range(3, 5)))
    later = ok(
        gql(
            api,
            LIST,
            {
                "filter": {"order": "ASC", "actor": ["u_0", "u_1", "u_2"]},
                "after": info["endCursor"],
            },
        )
    )
    assert [e["node"]["id"] for e in later["auditLogs"]["edges"]] == ["evt-3", "evt-4"]


def test_a_cursor_from_another_filter_or_tenant_is_an_error(api: Api, other_api: Api) -> None:
    api.ingest(*(make_event(i) for i in range(6)))
    page = ok(gql(api, LIST, {"filter": {"actor": ["u_0"]}, "first": 1}))["auditLogs"]
    cursor = page["pageInfo"]["endCursor"]
    mismatched = gql(api, LIST, {"filter": {"actor": ["u_1"]}, "after": cursor})
    error = one_error(mismatched, "auditLogs", "invalid_cursor")
    assert "other filters" in error["message"]
    reordered = gql(api, LIST, {"filter": {"actor": ["u_0"], "order": "ASC"}, "after": cursor})
    one_error(reordered, "auditLogs", "invalid_cursor")
    forged = gql(api, LIST, {"filter": {"actor": ["u_0"]}, "after": cursor[:-3] + "AAA"})
    assert "endCursor" in one_error(forged, "auditLogs", "invalid_cursor")["message"]
    elsewhere = gql(other_api, LIST, {"filter": {"actor": ["u_0"]}, "after": cursor})
    one_error(elsewhere, "auditLogs", "invalid_cursor")


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"first": 0}, "'first'"),
        ({"first": 1000}, "999"),
        ({"after": "x" * 600}, "'after'"),
        ({"filter": {"ip": ["not-an-ip"]}}, "ip"),
        ({"filter": {"resourceType": [""]}}, "'resourceType'"),
        ({"filter": {"start": "yesterday"}}, "'start'"),
        ({"filter": {"start": "2026-11-12", "end": "2026-11-10"}}, "after"),
    ],
)
def test_bad_arguments_are_field_errors(api: Api, variables: dict[str, Any], fragment: str) -> None:
    error = one_error(gql(api, LIST, variables), "auditLogs", "invalid_request")
    assert fragment in error["message"]


def test_one_request_reads_at_most_999_events(api: Api) -> None:
    query = "{ a: auditLogs(first: 600) { ...E } b: auditLogs(first: 600) { ...E } }" + EDGES
    body = gql(api, query)
    assert body["data"]["a"] is not None
    assert body["data"]["b"] is None
    [error] = body["errors"]
    assert error["path"] == ["b"]
    assert "999" in error["message"]


def test_scopes_a_list_only_token_cannot_export(api: Api) -> None:
    reader = api.token_with("audit-log:list")
    body = gql(api, PIPEFY, {"pipeUuid": PIPE_UUID, "searchTerm": "ana"}, token=reader)
    # Pipefy's documented failure: null data for the field, message, locations, path.
    assert body["data"] == {"exportPipeAuditLogsReport": None}
    [error] = body["errors"]
    assert error["message"] == PIPEFY_DENIED
    assert error["locations"] == [{"line": 3, "column": 3}]
    assert error["path"] == ["exportPipeAuditLogsReport"]
    assert error["extensions"]["code"] == "forbidden"
    mutation = "mutation { exportAuditLogs(input: {format: CSV}) { id } }"
    denied = one_error(gql(api, mutation, token=reader), "exportAuditLogs", "forbidden")
    assert "audit-log:export" in denied["message"]
    one_error(gql(api, '{ export(id: "exp_x") { id } }', token=reader), "export", "forbidden")
    assert api.events(self_audit=True, action="trailkeeper.export.requested") == []
    # And the other way round: an export-only token cannot list.
    exporter = api.token_with("audit-log:export")
    denied = one_error(gql(api, LIST, token=exporter), "auditLogs", "forbidden")
    assert "audit-log:list" in denied["message"]


def test_unauthenticated_is_401_with_both_error_shapes(api: Api) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer tk_" + "x" * 43}):
        response = api.client.post("/graphql", json={"query": LIST}, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["error"]["code"] == "unauthenticated"
        assert body["errors"][0]["extensions"]["code"] == "unauthenticated"
        assert "data" not in body


def test_rate_limit_counts_one_graphql_request_once(service: Trailkeeper, api: Api) -> None:
    limited = copy.copy(service)
    limited.settings = service.settings.model_copy(update={"read_rate_limit": 3})
    limited.limiter = RateLimiter(service.store, clock=lambda: 1_900_000_000.0)  # one window
    query = "{ a: auditLogs(first: 1) { ...E } b: auditLogs(first: 2) { ...E } }" + EDGES
    with LiveServer(create_app(limited)) as url, httpx.Client(base_url=url) as http:
        remaining = []
        for _ in range(3):
            response = http.post("/graphql", json={"query": query}, headers=api.auth)
            assert response.status_code == 200, response.text
            assert set(response.json()["data"]) == {"a", "b"}
            assert response.headers["x-rate-limit-limit"] == "3"
            remaining.append(response.headers["x-rate-limit-remaining"])
        assert remaining == ["2", "1", "0"]
        refused = http.post("/graphql", json={"query": query}, headers=api.auth)
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"]["code"] == "rate_limited"
        assert body["errors"][0]["extensions"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-retry-after"] == refused.headers["retry-after"]
        # REST reads share the same bucket.
        assert http.get("/v1/events", headers=api.auth).status_code == 429


@pytest.mark.parametrize(
    "query",
    [
        "{ auditLogs( { edges { cursor } } }",
        "{ nope }",
        "{ auditLogs { edges { node { actor { id { deeper { deeper { deeper { x } } } } } } } } }",
        "{ " + " ".join(f"a{i}: __typename" for i in range(11)) + " }",
        "{ auditLogs { " + "edges { cursor } " * 600 + "} }",
        "query { auditLogs(filter: {order: SIDEWAYS}) { edges { cursor } } }",
        "subscription { auditLogs { edges { cursor } } }",
        "mutation { exportAuditLogs(input: {format: XML}) { id } }",
    ],
)
def test_malformed_queries_are_graphql_errors(api: Api, query: str) -> None:
    body = gql(api, query)
    assert body["data"] is None
    assert body["errors"]
    assert body["errors"][0]["extensions"]["code"] == "invalid_request"
    assert body["errors"][0]["message"]


def test_bad_variables_are_graphql_errors(api: Api) -> None:
    body = gql(api, LIST, {"first": "ten", "filter": {"order": "UP"}})
    assert body["data"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"invalid_request"}


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{nope", 400),
        (b"{}", 400),
        (b'{"query": 5}', 400),
        (b"[1, 2]", 400),
        (b'"just a string"', 400),
    ],
)
def test_unreadable_requests_are_4xx_with_errors(api: Api, content: bytes, status: int) -> None:
    headers = {**api.auth, "content-type": "application/json"}
    response = api.client.post("/graphql", content=content, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid_request"
    assert body["errors"][0]["message"]


def test_graphql_is_post_only_and_has_no_cdn_ide(api: Api) -> None:
    page = api.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 405
    assert page.headers["allow"] == "POST"
    assert "unpkg" not in page.text
    assert "cdn" not in page.text.lower()
    query = api.get("/graphql", params={"query": "{ __typename }"})
    assert query.status_code == 400
    assert "POST" in query.json()["errors"][0]["message"]


# Exports ------------------------------------------------------------------------------------


def _days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def _recent(index: int, resource_id: str, **fields: Any) -> dict[str, Any]:
    """An event three days ago: inside the default export window."""
    moment = datetime.now(UTC).replace(hour=9, minute=index, second=0, microsecond=0)
    moment -= timedelta(days=3)
    return make_event(
        index,
        id=f"{resource_id}-{index}",
        occurred_at=moment.isoformat().replace("+00:00", "Z"),
        resource={"type": "pipe", "id": resource_id, "name": "HR onboarding"},
        **fields,
    )


EXPORT = (
    "mutation Export($input: ExportInput!) "
    f"{{ exportAuditLogs(input: $input) {{ {EXPORT_FIELDS} }} }}"
)
GET_EXPORT = f"query Get($id: ID!) {{ export(id: $id) {{ {EXPORT_FIELDS} }} }}"


def test_export_audit_logs_is_post_v1_exports(api: Api) -> None:
    variables = {
        "input": {
            "format": "JSONL",
            "compression": "GZIP",
            "start": _days_ago(10),
            "end": _days_ago(2),
            "resource": {"type": "pipe", "id": "p1"},
            "filters": {"actor": ["u_1"], "resourceType": None, "q": "user"},
        }
    }
    export = ok(gql(api, EXPORT, variables))["exportAuditLogs"]
    assert export["id"].startswith("exp_")
    assert export["status"] == "QUEUED"
    assert (export["format"], export["compression"]) == ("JSONL", "GZIP")
    assert (export["start"], export["end"]) == (_days_ago(10), _days_ago(2))
    assert export["resource"] == {"type": "pipe", "id": "p1"}
    assert export["filters"] == {"actor": ["u_1"], "q": "user"}
    assert export["downloadUrl"] is None
    fetched = ok(gql(api, GET_EXPORT, {"id": export["id"]}))["export"]
    assert fetched == export
    rest = api.get(f"/v1/exports/{export['id']}").json()
    assert (rest["id"], rest["format"], rest["filters"]) == (
        export["id"],
        "jsonl",
        export["filters"],
    )
    audit = api.events(self_audit=True, action="trailkeeper.export.requested")
    assert [a["metadata"]["export_id"] for a in audit] == [export["id"]]


@pytest.mark.parametrize(
    ("input", "code", "fragment"),
    [
        ({"format": "CSV", "start": _days_ago(200)}, "invalid_window", "history limit"),
        (
            {"format": "CSV", "start": _days_ago(40), "end": _days_ago(2)},
            "invalid_window",
            "39 days",
        ),
        ({"format": "PARQUET", "compression": "GZIP"}, "invalid_request", "Parquet"),
        ({"format": "CSV", "filters": {"ip": ["nope"]}}, "invalid_request", "ip"),
        ({"format": "CSV", "webhookUrl": "http://127.0.0.1:9/x"}, "invalid_request", "webhookUrl"),
        (
            {
                "format": "CSV",
                "resource": {"type": "pipe", "id": "p"},
                "filters": {"resourceId": ["p"]},
            },
            "invalid_request",
            "resource",
        ),
    ],
)
def test_export_refusals_are_field_errors(
    api: Api, input: dict[str, Any], code: str, fragment: str
) -> None:
    error = one_error(gql(api, EXPORT, {"input": input}), "exportAuditLogs", code)
    assert fragment in error["message"]


def test_export_quota_is_shared_with_rest(api: Api) -> None:
    pipe = {"format": "csv", "resource": {"type": "pipe", "id": "p-quota"}}
    for _ in range(6):
        assert api.post("/v1/exports", pipe).status_code == 202
    variables = {"input": {"format": "CSV", "resource": {"type": "pipe", "id": "p-quota"}}}
    error = one_error(gql(api, EXPORT, variables), "exportAuditLogs", "quota_exceeded")
    assert 1 <= error["extensions"]["retryAfter"] <= 86_400
    refused = gql(api, PIPEFY, {"pipeUuid": "p-quota"})
    assert refused["data"] == {"exportPipeAuditLogsReport": None}
    assert refused["errors"][0]["extensions"]["code"] == "quota_exceeded"


def test_export_of_another_tenant_is_not_found(api: Api, other_api: Api) -> None:
    mine = ok(gql(api, EXPORT, {"input": {"format": "CSV"}}))["exportAuditLogs"]
    one_error(gql(other_api, GET_EXPORT, {"id": mine["id"]}), "export", "not_found")
    one_error(gql(api, GET_EXPORT, {"id": "exp_missing"}), "export", "not_found")
    one_error(gql(api, GET_EXPORT, {"id": "x" * 200}), "export", "invalid_request")


def _pipefy_export(api: Api, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = gql(api, PIPEFY, variables, token=token)
    assert body == {"data": {"exportPipeAuditLogsReport": {"success": True}}}
    audit = api.events(self_audit=True, action="trailkeeper.export.requested")[0]  # newest
    response = api.get(f"/v1/exports/{audit['metadata']['export_id']}")
    assert response.status_code == 200, response.text
    export: dict[str, Any] = response.json()
    return export


def test_pipefy_mutation_exports_the_pipe_as_csv(api: Api, service: Trailkeeper) -> None:
    api.ingest(*(_recent(i, PIPE_UUID) for i in range(6)))
    api.ingest(*(_recent(i, "another-pipe") for i in range(3)))
    exporter = api.token_with("audit-log:export")
    export = _pipefy_export(api, exporter, {"pipeUuid": PIPE_UUID, "searchTerm": "U1@EXAMPLE"})
    today: date = datetime.now(UTC).date()
    assert export["format"] == "csv"
    assert export["compression"] == "none"
    assert export["resource"] == {"type": "pipe", "id": PIPE_UUID}
    # The last 30 complete days, today excluded.
    assert export["end"] == (today - timedelta(days=1)).isoformat()
    assert export["start"] == (today - timedelta(days=30)).isoformat()
    assert export["filters"] == {"q": "U1@EXAMPLE"}
    assert service.export_runner.run_all() >= 1
    done = ok(gql(api, GET_EXPORT, {"id": export["id"]}))["export"]
    assert done["status"] == "SUCCEEDED", done
    assert done["eventCount"] == 2  # u_1's events in this pipe only
    rows = list(csv.DictReader(io.StringIO(api.client.get(done["downloadUrl"]).text)))
    assert {(r["actor_id"], r["resource_id"]) for r in rows} == {("u_1", PIPE_UUID)}
    # Without a search term (Pipefy's default is ""), every actor.
    everyone = _pipefy_export(api, exporter, {"pipeUuid": PIPE_UUID, "searchTerm": ""})
    assert everyone["filters"] == {}
    assert _pipefy_export(api, exporter, {"pipeUuid": PIPE_UUID})["filters"] == {}


def test_pipefy_mutation_with_a_bad_search_term(api: Api) -> None:
    body = gql(api, PIPEFY, {"pipeUuid": PIPE_UUID, "searchTerm": "x" * 300})
    assert body["data"] == {"exportPipeAuditLogsReport": None}
    [error] = body["errors"]
    assert error["path"] == ["exportPipeAuditLogsReport"]
    assert "'q'" in error["message"]
    missing = gql(api, "mutation { exportPipeAuditLogsReport { success } }")
    assert missing["data"] is None
    assert "pipeUuid" in missing["errors"][0]["message"]
