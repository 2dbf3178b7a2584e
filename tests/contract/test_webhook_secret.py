"""``POST /v1/webhook-secret/rotate``: an admin replaces the tenant's webhook secret."""

from __future__ import annotations

import re

from support import Api
from trailkeeper.service import Trailkeeper

WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


def test_an_admin_rotates_the_webhook_secret_once_shown(
    api: Api, other_api: Api, service: Trailkeeper
) -> None:
    tenant = service.tenancy.tenant(api.tenant)
    before = service.tenancy.webhook_secret(tenant)
    other_before = service.tenancy.webhook_secret(service.tenancy.tenant(other_api.tenant))
    response = api.post("/v1/webhook-secret/rotate")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"tenant", "webhook_secret"}
    assert body["tenant"] == api.tenant
    assert WEBHOOK_SECRET.match(body["webhook_secret"])
    assert body["webhook_secret"] != before
    assert (
        service.tenancy.webhook_secret(service.tenancy.tenant(api.tenant)) == body["webhook_secret"]
    )
    # another tenant's secret is untouched
    assert service.tenancy.webhook_secret(service.tenancy.tenant(other_api.tenant)) == other_before
    [audit] = api.events(self_audit=True, action="trailkeeper.webhook_secret.rotated")
    assert audit["source"] == "api"
    assert audit["actor"]["type"] == "service_account"
    assert audit["resource"] == {"type": "tenant", "id": api.tenant, "name": api.tenant}
    assert body["webhook_secret"] not in str(audit)


def test_rotating_the_webhook_secret_needs_admin(api: Api, service: Trailkeeper) -> None:
    tenant = service.tenancy.tenant(api.tenant)
    before = service.tenancy.webhook_secret(tenant)
    manager = {"Authorization": f"Bearer {api.token_with('tokens:manage', 'audit-log:export')}"}
    refused = api.client.post("/v1/webhook-secret/rotate", headers=manager)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert "'admin'" in refused.json()["error"]["message"]
    assert api.client.post("/v1/webhook-secret/rotate").status_code == 401
    assert service.tenancy.webhook_secret(service.tenancy.tenant(api.tenant)) == before
