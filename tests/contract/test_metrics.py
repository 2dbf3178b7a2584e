"""``/metrics`` stays bounded whatever unauthenticated clients send."""

from __future__ import annotations

import re

import httpx
import pytest

from support import Api

_SERIES = re.compile(r"^trailkeeper_http_request_duration_seconds_count\{(.*)\}", re.MULTILINE)


@pytest.fixture
def client(live_client: httpx.Client) -> httpx.Client:
    """A real server: which methods reach the app is the HTTP parser's decision."""
    return live_client


def _label_sets(api: Api) -> set[str]:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    return set(_SERIES.findall(response.text))


# Methods the HTTP parser knows but trailkeeper does not serve: they reach the app and are
# counted as "other" (invented ones like "M7X" are refused by the parser before the app).
UNUSUAL = ("PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "PURGE", "REPORT", "SEARCH")


def test_invented_methods_and_paths_do_not_grow_the_label_sets(api: Api) -> None:
    api.client.get("/healthz")
    before = _label_sets(api)
    for index in range(150):
        api.client.request(f"M{index}X", f"/v1/events/{index}")
        api.client.request(UNUSUAL[index % len(UNUSUAL)], f"/v1/events/{index}")
        api.client.request(f"INVENTED{index}", f"/nowhere/{index}?q={index}")
        api.client.get(f"/nowhere/{index}/deeper")
    after = _label_sets(api)
    new = after - before
    # 600 requests with 450 unusual or invented methods and 300 invented paths: a handful of label
    # sets (method "other" on the /v1/events/{event_id} template and on "unmatched",
    # GET on "unmatched", the /metrics scrape itself), not hundreds.
    assert len(new) <= 6, sorted(new)
    labels = "\n".join(after)
    assert "INVENTED" not in labels
    assert "nowhere" not in labels
    assert 'method="other"' in labels
