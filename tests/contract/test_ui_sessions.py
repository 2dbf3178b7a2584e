"""UI sessions on both databases: shared by processes, ended by expiry, sign-out and
revocation, recorded as ``trailkeeper.ui.login``, never storing the id or the token."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from trailkeeper.errors import Forbidden, Unauthenticated
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings


def _tenant_token(service: Trailkeeper, name: str) -> str:
    return service.tenancy.create_tenant(name)["admin_token"]


def test_a_session_is_shared_by_another_process_and_ends_at_sign_out(
    service: Trailkeeper, settings: Settings
) -> None:
    token = _tenant_token(service, "sessions-a")
    session = service.sessions.sign_in(token, "198.51.100.7")
    other = Trailkeeper.open(settings)  # as a second `serve` process on the same database
    try:
        seen = other.sessions.resolve(session.id)
        assert seen is not None
        assert seen.principal.tenant.name == "sessions-a"
        assert seen.csrf == session.csrf
        other.sessions.sign_out(session.id)
    finally:
        other.close()
    assert service.sessions.resolve(session.id) is None


def test_sign_in_is_self_audited_with_the_client_ip(service: Trailkeeper) -> None:
    token = _tenant_token(service, "sessions-b")
    session = service.sessions.sign_in(token, "2001:db8::5")
    tenant = session.principal.tenant
    page = service.reads.page(tenant, EventQuery(action=("trailkeeper.ui.login",)), None, 10)
    (event,) = page.data
    assert event["ip"] == "2001:db8::5"
    assert event["source"] == "web"
    assert event["actor"]["id"] == session.principal.token.id


def test_only_hashes_are_stored_and_expired_sessions_end(service: Trailkeeper) -> None:
    token = _tenant_token(service, "sessions-c")
    store = service.store
    record = service.tenancy.authenticate(f"Bearer {token}").token
    now = datetime.now(UTC)
    store.create_session(b"\x01" * 32, record.token_hash, now - timedelta(hours=9), now)
    assert store.session_token(b"\x01" * 32, now - timedelta(seconds=1)) == record.token_hash
    assert store.session_token(b"\x01" * 32, now) is None
    session = service.sessions.sign_in(token, None)
    digest = hashlib.sha256(session.id.encode()).digest()
    assert store.session_token(digest, datetime.now(UTC)) == record.token_hash
    assert store.session_token(session.id.encode(), datetime.now(UTC)) is None


def test_a_revoked_token_ends_its_sessions(service: Trailkeeper) -> None:
    token = _tenant_token(service, "sessions-d")
    session = service.sessions.sign_in(token, None)
    tenant = session.principal.tenant
    service.tenancy.revoke_token(tenant, session.principal.token.id, actor=None)
    assert service.sessions.resolve(session.id) is None
    with pytest.raises(Unauthenticated):
        service.sessions.sign_in(token, None)


def test_sign_in_needs_the_list_scope(service: Trailkeeper) -> None:
    _tenant_token(service, "sessions-e")
    tenant = service.tenancy.tenant("sessions-e")
    writer = service.tenancy.create_token(tenant, "w", ["events:write"], actor=None)["token"]
    with pytest.raises(Forbidden, match="audit-log:list"):
        service.sessions.sign_in(writer, None)
    assert service.sessions.resolve("made-up") is None
    assert service.sessions.resolve("") is None
