"""The demo's world: a Pipefy-like workflow product, its team, integrations, pipes, flows
and the values their events carry (plain data, no randomness here)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
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
