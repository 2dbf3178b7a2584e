"""Realistic demo audit events for ``trailkeeper serve --demo``.

A first start should show a feed worth exploring: a Pipefy-like workflow product with a team of
people, a few integrations, an AI agent and some automations moving cards, changing
configuration, logging in, calling the API and running workflows over the last 90 days.

The events are plain dicts in the ingest format (CONTRACT section 4). Everything is derived from
``random.Random(seed)`` and ``now``, so a demo is reproducible in tests and screenshots.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Event = dict[str, Any]
Episode = list[Event]

WINDOW = timedelta(days=90)
# Episodes start at least this long before ``now``: a workflow run lasts up to a few minutes and
# must not end in the future.
LATEST_START = timedelta(minutes=15)
# The demo team works in São Paulo (UTC-3, no daylight saving time since 2019).
TEAM_UTC_OFFSET = timedelta(hours=-3)

# Categories, one per family of actions.
CARD_ACTIVITY = "card_activity"
CONFIGURATION = "configuration"
AUTHENTICATION = "authentication"
ACCESS = "access"
API_TOKENS = "api_tokens"
API_REQUESTS = "api_requests"
EXPORTS = "exports"
WORKFLOW_RUNS = "workflow_runs"
DATABASE = "database"
# The category of an action, by its first word.
CATEGORIES = {
    "card": CARD_ACTIVITY,
    "table": DATABASE,
    "pipe": CONFIGURATION,
    "phase": CONFIGURATION,
    "automation": CONFIGURATION,
    "sso": CONFIGURATION,
    "user": AUTHENTICATION,
    "member": ACCESS,
    "api_token": API_TOKENS,
    "api": API_REQUESTS,
    "audit_log": EXPORTS,
    "flow": WORKFLOW_RUNS,
}


# --------------------------------------------------------------------------------------------
# Data tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts, with the defaults their events carry (source, address, client)."""

    id: str
    type: str
    name: str
    email: str | None
    source: str
    ip: str | None = None
    user_agent: str | None = None
    role: str = "member"
    activity: float = 1.0  # relative share of a user's events

    def as_json(self) -> dict[str, Any]:
        actor: dict[str, Any] = {"id": self.id, "type": self.type, "name": self.name}
        if self.email is not None:
            actor["email"] = self.email
        return actor


@dataclass(frozen=True)
class Resource:
    """What events are about; pipes, flows and tables all have UUID-like ids."""

    type: str
    id: str
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class Pipe:
    """A pipe: its phases in order, its card fields with plausible values, its automations."""

    resource: Resource
    phase_base: int  # phase ids are phase_base + position, like Pipefy's numeric ids
    phases: tuple[str, ...]
    fields: dict[str, tuple[Any, ...]]
    titles: tuple[str, ...]
    automations: tuple[str, ...]
    weight: float


CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
EDGE_WIN = CHROME_WIN + " Edg/126.0.2592.87"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CLI_AGENT = "pipefy-cli/2.3.1 (linux; x86_64)"

USERS: tuple[Actor, ...] = (
    Actor("u_301245", "user", "Ana Souza", "ana.souza@example.com", "web",
          "203.0.113.9", CHROME_MAC, role="admin", activity=2.0),
    Actor("u_301262", "user", "João Pereira", "joao.pereira@example.com", "web",
          "203.0.113.14", CHROME_WIN, activity=1.6),
    Actor("u_301288", "user", "Mariana Oliveira", "mariana.oliveira@example.com", "web",
          "203.0.113.21", SAFARI_MAC, activity=1.4),
    Actor("u_301307", "user", "Rafael Costa", "rafael.costa@example.com", "web",
          "2001:db8:4a1:12::35", FIREFOX_LINUX, role="admin"),
    Actor("u_301311", "user", "Beatriz Santos", "beatriz.santos@example.com", "web",
          "203.0.113.42", EDGE_WIN, activity=1.2),
    Actor("u_301340", "user", "Lucas Almeida", "lucas.almeida@example.com", "web",
          "203.0.113.57", CHROME_WIN),
    Actor("u_301356", "user", "Camila Rodrigues", "camila.rodrigues@example.com", "web",
          "203.0.113.63", SAFARI_MAC, activity=0.8),
    Actor("u_301372", "user", "Priya Raman", "priya.raman@example.com", "web",
          "2001:db8:4a1:12::81", CHROME_MAC, role="admin", activity=1.1),
    Actor("u_301390", "user", "James O'Connor", "james.oconnor@example.com", "web",
          "198.51.100.34", CHROME_MAC, activity=0.7),
    Actor("u_301402", "user", "Sofía Martínez", "sofia.martinez@example.com", "web",
          "198.51.100.45", FIREFOX_LINUX, activity=0.7),
    Actor("u_301419", "user", "Kenji Watanabe", "kenji.watanabe@example.com", "web",
          "2001:db8:77::1c", FIREFOX_LINUX, role="admin", activity=0.9),
    Actor("u_301433", "user", "Amara Okafor", "amara.okafor@example.com", "web",
          "203.0.113.88", SAFARI_MAC, activity=0.6),
)  # fmt: skip
ADMINS = tuple(user for user in USERS if user.role == "admin")
# Where people log in from when they are not at their desk (phones, hotels, home).
ROAMING_IPS = ("198.51.100.71", "198.51.100.102", "2001:db8:c0de::42", "203.0.113.130")
ROAMING_AGENTS = (SAFARI_IPHONE, CHROME_MAC, EDGE_WIN)
# Credential stuffing comes from addresses nobody on the team uses.
HOSTILE_IPS = ("198.51.100.231", "198.51.100.239", "2001:db8:bad::7")
HOSTILE_AGENTS = ("python-requests/2.31.0", "curl/8.4.0", "Go-http-client/1.1")

SERVICE_ACCOUNTS: tuple[Actor, ...] = (
    Actor("sa_erp_sync", "service_account", "ERP sync", "erp-sync@example.com", "api",
          "198.51.100.20", "python-requests/2.32.3"),
    Actor("sa_bi_loader", "service_account", "BI warehouse loader", "bi-loader@example.com",
          "api", "198.51.100.21", "Go-http-client/2.0"),
    Actor("sa_siem", "service_account", "SIEM collector", "siem-collector@example.com", "api",
          "2001:db8:5::10", "Splunk-TA-trailkeeper/1.2.0"),
)  # fmt: skip
AUTOMATION = Actor("automation_engine", "automation", "Pipefy Automations", None, "automation")
SYSTEM = Actor("system", "system", "Pipefy", None, "system")
AGENT = Actor(
    "agent_procurement", "agent", "Procurement assistant (AI agent)", None, "mcp",
    "198.51.100.77", "pipefy-mcp-server/1.4.0 (claude-desktop)",
)  # fmt: skip

HR_ONBOARDING = Pipe(
    Resource("pipe", "3f1c2a9e-8b4d-4c7e-9a12-6d5e0b7f1c01", "HR onboarding"),
    phase_base=325_110_400,
    phases=("Backlog", "Documents pending", "Approved", "IT setup", "Done"),
    fields={
        "Department": ("Engineering", "Finance", "Sales", "People", "Operations"),
        "Contract type": ("CLT", "PJ", "Contractor", "Intern"),
        "Start date": ("2026-01-05", "2026-01-12", "2026-02-02", "2026-02-16", "2026-03-02"),
        "Laptop": ("MacBook Pro 14", "MacBook Air 13", "ThinkPad T14"),
    },
    titles=("Onboarding – Gabriel Lima", "Onboarding – Larissa Melo", "Onboarding – Tom Becker",
            "Onboarding – Fernanda Rocha", "Onboarding – Wei Zhang", "Onboarding – Pedro Nunes"),
    automations=("Request laptop when Approved", "Create accounts in IT setup"),
    weight=20,
)  # fmt: skip
PURCHASE_REQUESTS = Pipe(
    Resource("pipe", "87654321-4321-4321-4321-cba987654321", "Purchase requests"),
    phase_base=325_118_200,
    phases=("Request", "Manager approval", "Finance review", "Approved", "Ordered", "Done"),
    fields={
        "Amount (BRL)": (1_250.0, 4_800.0, 12_990.5, 27_400.0, 58_000.0),
        "Cost center": ("CC-1001 Engineering", "CC-2040 Marketing", "CC-3300 Operations"),
        "Priority": ("Low", "Medium", "High", "Urgent"),
        "Supplier": ("Kalunga", "Dell Brasil", "Amazon Business", "Papelaria Central"),
    },
    titles=("10 monitors for the São Paulo office", "Figma annual licence", "Team offsite catering",
            "Standing desks (4)", "AWS reserved instances", "Ergonomic chairs"),
    automations=("Notify manager on new request", "Send to Finance above R$ 10,000"),
    weight=35,
)  # fmt: skip
VENDOR_DUE_DILIGENCE = Pipe(
    Resource("pipe", "c4e1b7d2-5a3f-4e8b-b0c9-2f6a8d1e3b47", "Vendor due diligence"),
    phase_base=325_126_900,
    phases=("Intake", "Document check", "Risk assessment", "Approved", "Archived"),
    fields={
        "Risk rating": ("Low", "Medium", "High"),
        "Sanctions screening": ("Pending", "Clear", "Potential match"),
        "CNPJ": ("12.345.678/0001-90", "98.765.432/0001-10", "45.678.123/0001-55"),
        "Annual contract value (BRL)": (36_000, 120_000, 480_000),
    },
    titles=("Transportadora Rápida Ltda", "CloudNine Hosting", "Limpeza Total Serviços",
            "Acme Consulting GmbH", "Gráfica Paulista"),
    automations=("Escalate High risk to Legal", "Archive after 12 months"),
    weight=10,
)  # fmt: skip
CUSTOMER_SUPPORT = Pipe(
    Resource("pipe", "5b9d3e0f-1c7a-4f26-8e4d-a7c2b1f09e63", "Customer support"),
    phase_base=325_133_500,
    phases=("New", "In progress", "Waiting on customer", "Resolved", "Closed"),
    fields={
        "Priority": ("P1", "P2", "P3", "P4"),
        "Channel": ("Email", "Chat", "Phone", "WhatsApp"),
        "Assignee": ("Beatriz Santos", "Lucas Almeida", "Amara Okafor", "Camila Rodrigues"),
        "Product area": ("Billing", "Integrations", "Mobile app", "Reports"),
    },
    titles=("Cannot download invoice PDF", "Webhook not firing", "SSO login loop",
            "Duplicate charge in March", "Report export times out", "App crashes on upload"),
    automations=("Escalate when SLA breached", "Email customer when Resolved"),
    weight=35,
)  # fmt: skip
PIPES: tuple[Pipe, ...] = (HR_ONBOARDING, PURCHASE_REQUESTS, VENDOR_DUE_DILIGENCE, CUSTOMER_SUPPORT)

FINANCE_WAREHOUSE = Resource(
    "pipeline", "9e2f4a61-7d3b-4c58-a1e0-6b8c5d2f7a90", "Finance data warehouse"
)
SLA_ESCALATION = Resource("flow", "1a7c9e3b-2d4f-4b6a-8c0e-f1d3b5a79c22", "SLA escalation")
INVOICE_SYNC = Resource("flow", "d6b8f0a2-4c1e-4a3d-9f5b-7e2c0a4d6f18", "Invoice approval sync")
SUPPLIERS_TABLE = Resource("database_table", "0f3e5d7c-9b1a-4e2c-8d6f-4a2b0c8e6d35", "Suppliers")

SUPPLIER_FIELDS: dict[str, tuple[Any, ...]] = {
    "Status": ("Active", "Under review", "Blocked"),
    "Payment terms": ("30 days", "45 days", "60 days"),
    "Bank account verified": (False, True),
}
NEW_FIELD_LABELS = (
    ("Justification", "long_text"),
    ("Attachments", "attachment"),
    ("Due date", "date"),
    ("Approver email", "email"),
    ("Region", "select"),
    ("Budget code", "short_text"),
)
NEW_PHASE_NAMES = ("Legal review", "On hold", "Waiting for signature", "Escalated")
ROLES = ("admin", "member", "read_only")
TOKEN_SCOPES = (
    ["audit-log:list"],
    ["audit-log:list", "audit-log:export"],
    ["cards:read", "cards:write"],
    ["pipes:read"],
)
TOKEN_NAMES = ("Zapier", "Data lake export", "Power BI refresh", "Jira bridge", "Backoffice script")
INVITEES = (
    "thiago.barros@example.com", "claire.dubois@example.com", "renata.faria@example.com",
    "omar.haddad@example.com", "julia.carvalho@example.com", "noah.fischer@example.com",
)  # fmt: skip

# (method, path, resource kind) — what the integrations keep calling.
API_ENDPOINTS = (
    ("GET", "/v1/pipes/{pipe}/cards", "pipe"),
    ("GET", "/v1/cards/{card}", "pipe"),
    ("POST", "/v1/pipes/{pipe}/cards", "pipe"),
    ("PATCH", "/v1/cards/{card}/fields", "pipe"),
    ("GET", "/v1/pipes/{pipe}/audit_logs", "pipe"),
    ("POST", "/graphql", "pipe"),
    ("GET", "/v1/tables/{table}/records", "table"),
)
SUCCESS_STATUS = {"GET": 200, "POST": 201, "PATCH": 200}
ERROR_STATUSES = (400, 403, 404, 422, 429, 500, 503)


@dataclass(frozen=True)
class Step:
    """One step of a flow: which run values it reads and writes, and how it can fail."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    errors: tuple[str, ...]
    ms: tuple[int, int]
    failure_rate: float = 0.04


@dataclass(frozen=True)
class Flow:
    """A workflow; ``values`` draws the data one run works on."""

    resource: Resource
    trigger: str
    steps: tuple[Step, ...]
    values: Callable[[random.Random], dict[str, Any]]


def _sla_values(rng: random.Random) -> dict[str, Any]:
    return {
        "pipe_id": CUSTOMER_SUPPORT.resource.id,
        "sla_hours": rng.choice((4, 8, 24)),
        "overdue_cards": rng.randint(1, 9),
        "card_id": str(rng.randint(1_024_300_000, 1_024_399_999)),
        "assignee": rng.choice(USERS).email,
        "message_id": f"<{rng.getrandbits(40):010x}@mail.example.com>",
        "channel": "#support-escalations",
        "slack_ts": f"{rng.randint(1_700_000_000, 1_799_999_999)}.{rng.randint(0, 999_999):06d}",
    }


def _invoice_values(rng: random.Random) -> dict[str, Any]:
    return {
        "card_id": str(rng.randint(1_024_300_000, 1_024_399_999)),
        "invoice_number": f"NF-{rng.randint(10_000, 99_999)}",
        "cnpj": rng.choice(VENDOR_DUE_DILIGENCE.fields["CNPJ"]),
        "amount_brl": round(rng.uniform(300, 60_000), 2),
        "valid": True,
        "erp_document_id": f"SAP-{rng.randint(5_100_000_000, 5_199_999_999)}",
        "phase": "Ordered",
    }


def _warehouse_values(rng: random.Random) -> dict[str, Any]:
    rows = rng.randint(8_000, 250_000)
    return {
        "source": "erp.invoices",
        "mode": rng.choice(("incremental", "incremental", "full_refresh")),
        "rows_extracted": rows,
        "table": "raw.erp_invoices",
        "rows_loaded": rows,
        "models": 14,
        "models_built": 14,
        "checks": 37,
        "checks_failed": 0,
    }


FLOWS: tuple[Flow, ...] = (
    Flow(SLA_ESCALATION, "schedule", (
        Step("find_overdue_cards", ("pipe_id", "sla_hours"), ("overdue_cards",),
             ("GraphQL query timed out after 30s",), (80, 900)),
        Step("send_email", ("card_id", "assignee"), ("message_id",),
             ("SMTP 451 4.7.1 temporary failure, try again later",
              "550 5.1.1 recipient address rejected: mailbox unavailable"), (150, 2_500)),
        Step("post_to_slack", ("channel", "card_id"), ("slack_ts",),
             ("Slack API error: channel_not_found", "Slack API error: ratelimited"), (100, 1_200)),
    ), _sla_values),
    Flow(INVOICE_SYNC, "card.moved", (
        Step("fetch_invoice", ("card_id",), ("invoice_number", "amount_brl"),
             ("Card has no attachment in field 'Invoice'",), (120, 1_500)),
        Step("validate_tax_id", ("cnpj",), ("valid",),
             ("Receita Federal lookup failed: HTTP 503 Service Unavailable",), (200, 4_000), 0.06),
        Step("create_erp_entry", ("invoice_number", "amount_brl", "cnpj"), ("erp_document_id",),
             ("ERP rejected document: cost center CC-4410 is closed",
              "Connection reset by peer (erp.example.com:443)"), (400, 6_000), 0.08),
        Step("update_card", ("card_id", "erp_document_id"), ("phase",),
             ("Card is locked by another automation",), (90, 700)),
    ), _invoice_values),
    Flow(FINANCE_WAREHOUSE, "schedule", (
        Step("extract_erp", ("source", "mode"), ("rows_extracted",),
             ("Extract timed out after 60000 ms",), (5_000, 60_000)),
        Step("load_raw", ("table", "rows_extracted"), ("rows_loaded",),
             ("COPY failed: disk quota exceeded on warehouse volume",), (3_000, 45_000)),
        Step("transform_marts", ("models",), ("models_built",),
             ("Model fct_invoices failed: division by zero",), (10_000, 90_000), 0.05),
        Step("run_quality_checks", ("checks",), ("checks_failed",),
             ("3 checks failed: not_null(fct_invoices.cost_center)",), (2_000, 30_000), 0.07),
    ), _warehouse_values),
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _rfc3339(at: datetime) -> str:
    """The stored form: UTC, microseconds, ``Z`` (so string order is time order)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _as_utc(now: datetime) -> datetime:
    """A naive ``now`` is taken to be UTC rather than local time."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _activity(at: datetime) -> float:
    """How busy the team is at ``at``: office hours on weekdays, a trickle at night and weekends."""
    local = at + TEAM_UTC_OFFSET
    day = 1.0 if local.weekday() < 5 else 0.12
    if 9 <= local.hour < 18:
        hour = 1.0
    elif 7 <= local.hour < 21:
        hour = 0.35
    else:
        hour = 0.06
    return day * hour


def _episode_starts(rng: random.Random, now: datetime, n: int) -> list[datetime]:
    """``n`` sorted start times in the window, drawn by rejection so they follow ``_activity``."""
    earliest = now - WINDOW
    span = (WINDOW - LATEST_START).total_seconds()
    starts: list[datetime] = []
    while len(starts) < n:
        at = earliest + timedelta(seconds=rng.uniform(0, span))
        if rng.random() < _activity(at):
            starts.append(at)
    starts.sort()
    return starts


def _two_values(rng: random.Random, values: tuple[Any, ...]) -> tuple[Any, Any]:
    old, new = rng.sample(values, 2)
    return old, new


def _change(name: str, old: Any, new: Any) -> list[dict[str, Any]]:
    return [{"field": name, "old": old, "new": new}]


@dataclass
class _Card:
    title: str
    phase: int


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


class _Demo:
    """Builds episodes (one event, or a few that belong together) in time order.

    It keeps a little state — open cards and their phases, disabled automations, members' roles,
    live API tokens — so that, read in order, the events tell a consistent story.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.cards: dict[str, dict[str, _Card]] = {pipe.resource.id: {} for pipe in PIPES}
        self.next_card = 1_024_301_000
        self.disabled: set[str] = set()
        self.roles = {user.id: user.role for user in USERS}
        self.tokens: list[tuple[str, str]] = [("tok_5f2a91c0", "Legacy Zapier integration")]
        families: dict[Callable[[datetime], Episode], float] = {
            self.card_activity: 30,
            self.api_request: 14,
            self.authentication: 12,
            self.workflow_run: 2.5,
            self.configuration: 6,
            self.agent_activity: 4,
            self.table_record: 3,
            self.access: 1.5,
            self.api_tokens: 1.5,
            self.export: 1.5,
        }
        self.builders, self.weights = list(families), list(families.values())

    def episode(self, at: datetime, room: int) -> Episode:
        """One episode starting at ``at``; a single card event when a longer one has no room."""
        events = self.rng.choices(self.builders, self.weights)[0](at)
        return events if len(events) <= room else self.card_activity(at)

    # -- event assembly ---------------------------------------------------------------------

    def event(
        self,
        at: datetime,
        action: str,
        actor: Actor,
        resource: Resource | None = None,
        *,
        changes: list[dict[str, Any]] | None = None,
        run: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> Event:
        """One event in the ingest format; optional parts are left out rather than null."""
        source, ip, user_agent = actor.source, ip or actor.ip, user_agent or actor.user_agent
        if actor.type == "user" and self.rng.random() < 0.03:
            source, user_agent = "cli", CLI_AGENT
        event: Event = {
            "action": action,
            "category": CATEGORIES[action.split(".")[0]],
            "occurred_at": _rfc3339(at),
            "actor": actor.as_json(),
            "resource": None if resource is None else resource.as_json(),
            "source": source,
            "ip": ip,
            "user_agent": user_agent,
            "changes": changes,
            "run": run,
            "metadata": metadata,
        }
        return {key: value for key, value in event.items() if value}

    def user(self) -> Actor:
        return self.rng.choices(USERS, [user.activity for user in USERS])[0]

    def admin(self) -> Actor:
        return self.rng.choice(ADMINS)

    def pipe(self) -> Pipe:
        return self.rng.choices(PIPES, [pipe.weight for pipe in PIPES])[0]

    # -- cards and records ------------------------------------------------------------------

    def card_activity(self, at: datetime) -> Episode:
        pipe = self.pipe()
        kind = self.rng.choices(("created", "moved", "updated", "deleted"), (25, 45, 25, 3))[0]
        if kind == "moved" and self.rng.random() < 0.2:
            return [self.card_moved(at, pipe, AUTOMATION)]
        actor = self.user()
        if kind == "created" or not self.cards[pipe.resource.id]:
            return [self.card_created(at, pipe, actor)]
        if kind == "moved":
            return [self.card_moved(at, pipe, actor)]
        if kind == "updated":
            return [self.card_updated(at, pipe, actor)]
        return [self.card_deleted(at, pipe, actor)]

    def card_created(self, at: datetime, pipe: Pipe, actor: Actor, **extra: Any) -> Event:
        self.next_card += self.rng.randint(1, 40)
        card_id, title = str(self.next_card), self.rng.choice(pipe.titles)
        self.cards[pipe.resource.id][card_id] = _Card(title, 0)
        metadata = {"card_id": card_id, "card_title": title, "phase_id": str(pipe.phase_base)}
        changes = _change("phase", None, pipe.phases[0])
        return self.event(
            at, "card.created", actor, pipe.resource, changes=changes, metadata=metadata | extra
        )

    def card_moved(self, at: datetime, pipe: Pipe, actor: Actor) -> Event:
        """Mostly one phase forward, sometimes one back (sent back for rework)."""
        cards = self.cards[pipe.resource.id]
        movable = [card_id for card_id, card in cards.items() if card.phase < len(pipe.phases) - 1]
        if not movable:
            return self.card_created(at, pipe, self.user())
        card_id = self.rng.choice(movable)
        card = cards[card_id]
        old = card.phase
        card.phase += -1 if old > 0 and self.rng.random() < 0.1 else 1
        metadata: dict[str, Any] = {
            "card_id": card_id,
            "card_title": card.title,
            "from_phase_id": str(pipe.phase_base + old),
            "to_phase_id": str(pipe.phase_base + card.phase),
        }
        if actor is AUTOMATION:
            metadata["automation"] = self.rng.choice(pipe.automations)
        changes = _change("phase", pipe.phases[old], pipe.phases[card.phase])
        return self.event(
            at, "card.moved", actor, pipe.resource, changes=changes, metadata=metadata
        )

    def card_updated(self, at: datetime, pipe: Pipe, actor: Actor, **extra: Any) -> Event:
        card_id, card = self.rng.choice(list(self.cards[pipe.resource.id].items()))
        labels = self.rng.sample(list(pipe.fields), self.rng.choice((1, 1, 1, 2)))
        changes = [change for label in labels for change in self.field_edit(pipe, label)]
        metadata = {"card_id": card_id, "card_title": card.title, **extra}
        return self.event(
            at, "card.updated", actor, pipe.resource, changes=changes, metadata=metadata
        )

    def field_edit(self, pipe: Pipe, label: str) -> list[dict[str, Any]]:
        return _change(label, *_two_values(self.rng, pipe.fields[label]))

    def card_deleted(self, at: datetime, pipe: Pipe, actor: Actor) -> Event:
        cards = self.cards[pipe.resource.id]
        card_id = self.rng.choice(list(cards))
        card = cards.pop(card_id)
        metadata = {"card_id": card_id, "card_title": card.title, "phase": pipe.phases[card.phase]}
        return self.event(at, "card.deleted", actor, pipe.resource, metadata=metadata)

    def agent_activity(self, at: datetime) -> Episode:
        """The AI agent works procurement cards through MCP, on behalf of a person."""
        pipe = self.rng.choice((PURCHASE_REQUESTS, VENDOR_DUE_DILIGENCE))
        requester = self.user().email
        if not self.cards[pipe.resource.id] or self.rng.random() < 0.3:
            return [self.card_created(at, pipe, AGENT, tool="create_card", on_behalf_of=requester)]
        return [
            self.card_updated(at, pipe, AGENT, tool="update_card_field", on_behalf_of=requester)
        ]

    def table_record(self, at: datetime) -> Episode:
        actor = self.rng.choice((SERVICE_ACCOUNTS[0], self.user()))
        label = self.rng.choice(list(SUPPLIER_FIELDS))
        old, new = _two_values(self.rng, SUPPLIER_FIELDS[label])
        action = "table.record.updated"
        if self.rng.random() < 0.2:
            action, old = "table.record.created", None
        metadata = {"record_id": f"rec_{self.rng.randint(20_000, 29_999)}"}
        changes = _change(label, old, new)
        return [self.event(at, action, actor, SUPPLIERS_TABLE, changes=changes, metadata=metadata)]

    # -- configuration ----------------------------------------------------------------------

    def configuration(self, at: datetime) -> Episode:
        pipe, actor = self.pipe(), self.admin()
        kind = self.rng.choices(("field", "phase", "automation", "sso"), (5, 2, 5, 1))[0]
        if kind == "field":
            return [self.pipe_field_change(at, pipe, actor)]
        if kind == "automation":
            return [self.automation_change(at, pipe, actor)]
        if kind == "sso":
            enforce = self.rng.random() < 0.7
            changes = _change("enforce_sso", not enforce, enforce)
            metadata: dict[str, Any] = {"idp": "Okta", "protocol": "saml"}
            return [
                self.event(at, "sso.settings.updated", actor, changes=changes, metadata=metadata)
            ]
        name = self.rng.choice(NEW_PHASE_NAMES)
        metadata = {
            "phase_id": str(self.rng.randint(325_200_000, 325_299_999)),
            "name": name,
            "position": self.rng.randint(2, len(pipe.phases)),
        }
        changes = _change("name", None, name)
        return [
            self.event(
                at, "phase.created", actor, pipe.resource, changes=changes, metadata=metadata
            )
        ]

    def pipe_field_change(self, at: datetime, pipe: Pipe, actor: Actor) -> Event:
        kind = self.rng.choice(("created", "updated", "updated", "deleted"))
        if kind == "updated":
            label = self.rng.choice(list(pipe.fields))
            if self.rng.random() < 0.5:
                required = self.rng.random() < 0.7
                changes = _change("required", not required, required)
            else:
                changes = _change("help_text", None, f"Fill in {label.lower()} before moving on")
            metadata = {"field_id": _slug(label), "label": label}
        else:
            label, field_type = self.rng.choice(NEW_FIELD_LABELS)
            old, new = (None, label) if kind == "created" else (label, None)
            changes = _change("label", old, new)
            metadata = {"field_id": _slug(label), "label": label, "type": field_type}
        action = f"pipe.field.{kind}"
        return self.event(at, action, actor, pipe.resource, changes=changes, metadata=metadata)

    def automation_change(self, at: datetime, pipe: Pipe, actor: Actor) -> Event:
        name = self.rng.choice(pipe.automations)
        kind = self.rng.choice(("created", "updated", "updated", "toggled"))
        if kind == "toggled":
            enabled = name in self.disabled
            self.disabled ^= {name}
            action = "automation.enabled" if enabled else "automation.disabled"
            changes = _change("enabled", not enabled, enabled)
        elif kind == "created":
            phase = self.rng.choice(pipe.phases[1:])
            name = f"Notify requester when card reaches {phase}"
            action = "automation.created"
            changes = _change("trigger", None, {"event": "card_moved", "to_phase": phase})
        else:
            old, new = _two_values(self.rng, pipe.phases)
            action = "automation.updated"
            changes = _change(
                "trigger",
                {"event": "card_moved", "to_phase": old},
                {"event": "card_moved", "to_phase": new},
            )
        metadata = {"automation_id": f"auto_{_slug(name)}", "name": name}
        return self.event(at, action, actor, pipe.resource, changes=changes, metadata=metadata)

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
        changes = _change("role", old, new)
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
        changes = _change("scopes", None, scopes)
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

    # -- workflow runs ----------------------------------------------------------------------

    def workflow_run(self, at: datetime) -> Episode:
        """A run: started, one event per step until one fails, completed; seconds to minutes."""
        flow = self.rng.choice(FLOWS)
        values = flow.values(self.rng)
        run = _RunLog(self, f"run_{self.rng.getrandbits(48):012x}", flow)
        starter = self.user() if flow.trigger == "schedule" and self.rng.random() < 0.15 else None
        trigger = flow.trigger if starter is None else "manual"
        started = at
        run.add(
            at,
            "flow.run.started",
            step="trigger",
            status="running",
            input_={"trigger": trigger},
            duration_ms=self.rng.randint(3, 40),
            actor=starter or AUTOMATION,
        )
        error: str | None = None
        done = 0
        for step in flow.steps:
            duration = self.rng.randint(*step.ms)
            at += timedelta(milliseconds=duration + self.rng.randint(20, 400))
            inputs = {key: values[key] for key in step.inputs}
            if self.rng.random() < step.failure_rate:
                error = self.rng.choice(step.errors)
                run.add(
                    at,
                    "flow.run.step.failed",
                    step=step.name,
                    status="failed",
                    input_=inputs,
                    error=error,
                    duration_ms=duration,
                )
                break
            done += 1
            outputs = {key: values[key] for key in step.outputs}
            run.add(
                at,
                "flow.run.step.succeeded",
                step=step.name,
                status="succeeded",
                input_=inputs,
                output=outputs,
                duration_ms=duration,
            )
        at += timedelta(milliseconds=self.rng.randint(10, 300))
        summary = {
            "steps_total": len(flow.steps),
            "steps_succeeded": done,
            "steps_failed": 0 if error is None else 1,
        }
        run.add(
            at,
            "flow.run.completed",
            step=None,
            status="succeeded" if error is None else "failed",
            output=summary,
            error=error,
            duration_ms=round((at - started).total_seconds() * 1000),
        )
        return run.events


@dataclass
class _RunLog:
    """Collects the events of one run; they all carry the same ``run.id`` and ``run.flow``."""

    demo: _Demo
    run_id: str
    flow: Flow
    events: Episode = field(default_factory=list)

    def add(
        self,
        at: datetime,
        action: str,
        *,
        step: str | None,
        status: str,
        duration_ms: int,
        input_: dict[str, Any] | None = None,
        output: dict[str, Any] | None = None,
        error: str | None = None,
        actor: Actor = AUTOMATION,
    ) -> None:
        input_ = input_ or {}
        run = {
            "id": self.run_id,
            "flow": self.flow.resource.name,
            "step": step,
            "status": status,
            "input": input_,
            "output": output or {},
            "error": error,
            "duration_ms": duration_ms,
        }
        metadata = {"trigger": input_["trigger"]} if "trigger" in input_ else None
        self.events.append(
            self.demo.event(at, action, actor, self.flow.resource, run=run, metadata=metadata)
        )


def demo_events(now: datetime, count: int = 2000, seed: int = 7) -> list[dict[str, Any]]:
    """Exactly ``count`` demo events from the 90 days before ``now``, oldest first.

    Ids are ``demo-00001``… in time order; being stable, they make loading the same demo (same
    ``now`` and ``seed``) twice a no-op at ingest.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)
    demo = _Demo(rng)
    starts = _episode_starts(rng, _as_utc(now), count)
    events: list[Event] = []
    # A multi-event episode uses up the start times of the slots it fills, so the episodes keep
    # the spread of ``starts`` and the total comes out exact.
    while len(events) < count:
        events.extend(demo.episode(starts[len(events)], room=count - len(events)))
    events.sort(key=lambda event: str(event["occurred_at"]))
    return [{"id": f"demo-{n:05d}", **event} for n, event in enumerate(events, start=1)]
