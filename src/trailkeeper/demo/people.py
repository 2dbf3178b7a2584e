"""Episodes about people and integrations: logins, access, API tokens, API requests,
exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from trailkeeper.demo.cast import (
    ADMINS,
    API_ENDPOINTS,
    ERROR_STATUSES,
    HOSTILE_AGENTS,
    HOSTILE_IPS,
    INVITEES,
    ROAMING_AGENTS,
    ROAMING_IPS,
    ROLES,
    SERVICE_ACCOUNTS,
    SUCCESS_STATUS,
    SUPPLIERS_TABLE,
    SYSTEM,
    TOKEN_NAMES,
    TOKEN_SCOPES,
    USERS,
    Actor,
    Episode,
    Event,
)
from trailkeeper.demo.story import Story, change


class People(Story):
    # -- authentication and access ----------------------------------------------------------

    def authentication(self, at: datetime) -> Episode:
        user = self.user()
        ip, agent = user.ip, user.user_agent
        if self.rng.random() < 0.15:
            ip, agent = self.rng.choice(ROAMING_IPS), self.rng.choice(ROAMING_AGENTS)
        kind = self.rng.choices(("login", "logout", "typo", "stuffing"), (60, 22, 14, 2))[0]
        if kind == "logout":
            return [self.event(at, "user.logout", user, ip=ip, user_agent=agent)]
        if kind == "stuffing":
            return self.credential_stuffing(at, user)
        events: Episode = []
        if kind == "typo":
            for _ in range(self.rng.randint(1, 2)):
                events.append(self.login_failed(at, user, ip, agent, "invalid_password"))
                at += timedelta(seconds=self.rng.uniform(4, 40))
        method = self.rng.choices(("password", "sso", "google"), (3, 5, 2))[0]
        metadata: dict[str, Any] = {"method": method, "mfa": method == "password"}
        if method == "sso":
            metadata["idp"] = "Okta"
        login = self.event(
            at, "user.login.succeeded", user, ip=ip, user_agent=agent, metadata=metadata
        )
        return [*events, login]

    def login_failed(
        self, at: datetime, user: Actor, ip: str | None, agent: str | None, reason: str
    ) -> Event:
        metadata = {"method": "password", "reason": reason}
        return self.event(at, "user.login.failed", user, ip=ip, user_agent=agent, metadata=metadata)

    def credential_stuffing(self, at: datetime, user: Actor) -> Episode:
        """A burst of failed logins from a hostile address: what a SIEM alert should catch."""
        ip, agent = self.rng.choice(HOSTILE_IPS), self.rng.choice(HOSTILE_AGENTS)
        events: Episode = []
        for _ in range(self.rng.randint(3, 5)):
            events.append(self.login_failed(at, user, ip, agent, "invalid_password"))
            at += timedelta(seconds=self.rng.uniform(0.5, 3))
        return [*events, self.login_failed(at, user, ip, agent, "account_locked")]

    def access(self, at: datetime) -> Episode:
        admin, pipe = self.admin(), self.pipe()
        if self.rng.random() < 0.45:
            role = self.rng.choice(("member", "member", "read_only"))
            metadata: dict[str, Any] = {"invitee_email": self.rng.choice(INVITEES), "role": role}
            return [self.event(at, "member.invited", admin, pipe.resource, metadata=metadata)]
        member = self.rng.choice([user for user in USERS if user not in ADMINS])
        old = self.roles[member.id]
        new = self.roles[member.id] = self.rng.choice([role for role in ROLES if role != old])
        changes = change("role", old, new)
        metadata = {"member_id": member.id, "member_email": member.email}
        return [
            self.event(
                at, "member.role_changed", admin, pipe.resource, changes=changes, metadata=metadata
            )
        ]

    def api_tokens(self, at: datetime) -> Episode:
        admin = self.admin()
        if self.tokens and self.rng.random() < 0.4:
            token_id, name = self.tokens.pop(self.rng.randrange(len(self.tokens)))
            reason = self.rng.choice(("expired", "rotated", "no longer used", "owner left"))
            actor = SYSTEM if reason == "expired" else admin  # the platform retires expired ones
            metadata: dict[str, Any] = {"token_id": token_id, "token_name": name, "reason": reason}
            return [self.event(at, "api_token.revoked", actor, metadata=metadata)]
        token_id = f"tok_{self.rng.getrandbits(32):08x}"
        name, scopes = self.rng.choice(TOKEN_NAMES), self.rng.choice(TOKEN_SCOPES)
        self.tokens.append((token_id, name))
        metadata = {"token_id": token_id, "token_name": name, "expires_in_days": 90}
        changes = change("scopes", None, scopes)
        return [self.event(at, "api_token.created", admin, changes=changes, metadata=metadata)]

    # -- API and exports --------------------------------------------------------------------

    def api_request(self, at: datetime) -> Episode:
        account = self.rng.choice(SERVICE_ACCOUNTS)
        method, template, kind = self.rng.choice(API_ENDPOINTS)
        pipe = self.pipe()
        card_id = self.rng.randint(1_024_300_000, self.next_card + 1)
        resource = SUPPLIERS_TABLE if kind == "table" else pipe.resource
        path = template.format(pipe=pipe.resource.id, card=card_id, table=SUPPLIERS_TABLE.id)
        status = SUCCESS_STATUS[method]
        if self.rng.random() < 0.06:
            status = self.rng.choice(ERROR_STATUSES)
        metadata = {
            "method": method,
            "path": path,
            "status": status,
            "token_name": account.name,
            "duration_ms": self.rng.randint(18, 900),
        }
        return [self.event(at, "api.request", account, resource, metadata=metadata)]

    def export(self, at: datetime) -> Episode:
        actor = SERVICE_ACCOUNTS[2] if self.rng.random() < 0.4 else self.admin()
        end = (at - timedelta(days=1)).date()
        start = end - timedelta(days=self.rng.choice((6, 13, 29)))
        metadata = {
            "export_id": f"exp_{self.rng.getrandbits(48):012x}",
            "format": self.rng.choice(("jsonl", "csv")),
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        return [
            self.event(at, "audit_log.exported", actor, self.pipe().resource, metadata=metadata)
        ]
