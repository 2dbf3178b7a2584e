"""Synthetic but realistic events, fast enough to make a million in seconds.

``trailkeeper.demo.demo_events`` gives a few thousand realistic templates (card moves, logins,
API requests, workflow runs...). Each generated event is a shallow copy of a template with its
actor, resource and (sometimes) action swapped for one from larger pools, and a fresh
``occurred_at``:

* ~500 actors (users, service accounts, agents, automations, system) with a skewed activity;
* ~400 resources (variants of the demo's pipes, pipelines, flows and tables);
* ~40 actions (the demo's 28 plus siblings in the same families);
* ``occurred_at`` in time order over the last 90 days (with a little jitter), like a producer
  that sends as things happen or a backfill of its history.

No ``id``: the server assigns UUIDv7s, so the same bodies can be sent to every backend.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from trailkeeper.demo import demo_events

__all__ = ["Corpus", "QueryValues", "make_corpus"]

Event = dict[str, Any]

WINDOW = timedelta(days=90)
TEMPLATES = 4000
SAMPLE_EVERY = 97  # keep one event in ~100 to draw realistic filter values from


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Ana João Mariana Rafael Beatriz Lucas Camila Priya James Sofía Kenji Amara Pedro Julia "
    "Gabriel Larissa Thiago Fernanda Bruno Isabela Diego Carolina Mateus Leticia Gustavo Aline "
    "Felipe Bianca Rodrigo Renata Olivia Noah Emma Liam Ava Ethan Mia Lucas Chloe Daniel Hana "
    "Yuki Aarav Diya Omar Layla Tomás Elena Marco Giulia Lars Ingrid Wei Mei Arjun Zara Ivan "
    "Nadia Kofi Esi"
)
LAST = _words(
    "Souza Pereira Oliveira Costa Santos Almeida Rodrigues Raman O'Connor Martínez Watanabe "
    "Okafor Silva Lima Ferreira Gomes Ribeiro Carvalho Barbosa Araújo Melo Cardoso Rocha Dias "
    "Nascimento Moreira Nunes Mendes Freitas Vieira Smith Johnson Brown Garcia Miller Davis "
    "Wilson Anderson Taylor Thomas Nakamura Tanaka Sato Patel Sharma Khan Ali Rossi Bianchi "
    "Müller Schmidt Larsen Chen Wang Li Zhang Mensah Boateng Ivanova Novak"
)
SUFFIXES = _words(
    "EMEA LATAM APAC North South East West Brazil Mexico Germany Japan India Retail Wholesale "
    "Enterprise SMB Partners Internal Legal Finance Ops Sales Marketing Support Payroll IT "
    "Security Facilities Logistics Quality Compliance Procurement Onboarding Offboarding "
    "Contractors Interns Audit Tax Treasury Growth Platform"
)
# Sibling actions in the same families as the demo's, to reach ~40 distinct actions.
SIBLINGS: dict[str, tuple[str, ...]] = {
    "card.updated": ("card.commented", "card.assigned", "card.archived", "card.attachment.added"),
    "api.request": ("api.request.throttled",),
    "user.login.succeeded": ("user.mfa.verified", "user.password.changed"),
    "member.invited": ("member.removed",),
    "pipe.field.updated": ("pipe.created", "pipe.archived"),
    "phase.created": ("phase.updated", "phase.deleted"),
    "table.record.updated": ("table.record.deleted",),
    "api_token.created": ("api_token.rotated",),
    "audit_log.exported": ("audit_log.export.downloaded",),
}
SIBLING_SHARE = 0.3
ACTOR_MIX = {"user": 440, "service_account": 30, "agent": 15, "automation": 10, "system": 5}


@dataclass(frozen=True, slots=True)
class _Actor:
    json: dict[str, Any]
    ip: str


@dataclass(slots=True)
class QueryValues:
    """Filter values drawn from generated events (so frequent values are asked more often)."""

    actors: list[str] = field(default_factory=list)
    action_prefixes: list[str] = field(default_factory=list)
    resources: list[tuple[str, str]] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Corpus:
    """Request bodies (``{"events": [...]}`` as JSON bytes) and facts about them."""

    bodies: list[bytes]
    events: int
    batch_size: int
    values: QueryValues
    distinct: dict[str, int]
    bytes_total: int
    seconds: float = 0.0


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
    first = rng.choice((198, 203, 192))
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _actors(rng: random.Random) -> dict[str, tuple[list[_Actor], list[float]]]:
    """Actors by type, each with a cumulative activity weight (log-normal, so a few are busy)."""
    names = [(f, last) for f in dict.fromkeys(FIRST) for last in LAST]
    rng.shuffle(names)
    pools: dict[str, tuple[list[_Actor], list[float]]] = {}
    for kind, count in ACTOR_MIX.items():
        actors: list[_Actor] = []
        for n in range(count):
            if kind == "user":
                first, last = names.pop()
                local = f"{first}.{last}".lower().replace("'", "")
                actor = {
                    "id": f"u_{400_000 + len(names)}",
                    "type": "user",
                    "name": f"{first} {last}",
                    "email": f"{local}@example.com",
                }
            elif kind == "service_account":
                word = SUFFIXES[n % len(SUFFIXES)].lower()
                actor = {
                    "id": f"sa_{word}_{n}",
                    "type": kind,
                    "name": f"{SUFFIXES[n % len(SUFFIXES)]} integration {n}",
                    "email": f"{word}-integration-{n}@example.com",
                }
            else:
                actor = {"id": f"{kind}_{n}", "type": kind, "name": f"{kind.title()} {n}"}
            actors.append(_Actor(actor, _ip(rng)))
        weights, total = [], 0.0
        for _ in actors:
            total += rng.lognormvariate(0, 0.9)
            weights.append(total)
        pools[kind] = (actors, weights)
    return pools


def _resources(rng: random.Random, templates: list[Event]) -> dict[str, list[dict[str, str]]]:
    """About 400 resources: ~44 variants of each demo resource, same type."""
    base = {e["resource"]["id"]: e["resource"] for e in templates if e.get("resource")}
    per_base = max(1, 400 // max(1, len(base)))
    variants: dict[str, list[dict[str, str]]] = {}
    for rid, resource in base.items():
        variants[rid] = [resource] + [
            {
                "type": resource["type"],
                "id": _uuid(rng),
                "name": f"{resource['name']} – {SUFFIXES[k % len(SUFFIXES)]}",
            }
            for k in range(per_base - 1)
        ]
    return variants


def _search_term(rng: random.Random, actor: dict[str, Any]) -> str:
    """What a person types in the search box: a surname, a first name, or an email fragment."""
    name = str(actor.get("name") or actor["id"])
    email = actor.get("email")
    roll = rng.random()
    if roll < 0.5:
        term = name.split()[-1]
    elif roll < 0.8 or not email:
        term = name.split()[0]
    else:
        term = str(email).split("@")[0][:8]
    return term.lower() if len(term) >= 3 else name.lower()


def make_corpus(count: int, batch_size: int = 1000, seed: int = 20261122) -> Corpus:
    """``count`` events in request bodies of ``batch_size``, deterministic for a given seed."""
    started = datetime.now(UTC)
    rng = random.Random(seed)
    now = started
    templates = demo_events(now, TEMPLATES, seed)
    for event in templates:
        event.pop("id", None)
    actors = _actors(rng)
    resources = _resources(rng, templates)
    values = QueryValues()
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("actor", "action", "resource")}

    first = now - WINDOW
    last = now - timedelta(minutes=15)
    step = (last - first) / max(1, count)
    jitter = min(step.total_seconds() * 5, 300.0)
    bodies: list[bytes] = []
    batch: list[Event] = []
    size = 0
    for index in range(count):
        template = templates[rng.randrange(len(templates))]
        event = dict(template)
        pool, weights = actors[event["actor"].get("type", "user")]
        actor = rng.choices(pool, cum_weights=weights)[0]
        event["actor"] = actor.json
        if "ip" in event:
            event["ip"] = actor.ip
        if "resource" in event:
            event["resource"] = rng.choice(resources[event["resource"]["id"]])
        siblings = SIBLINGS.get(event["action"])
        if siblings and rng.random() < SIBLING_SHARE:
            event["action"] = rng.choice(siblings)
        moment = first + step * index + timedelta(seconds=rng.uniform(-jitter, jitter))
        event["occurred_at"] = min(max(moment, first), last).isoformat()
        batch.append(event)
        if index % SAMPLE_EVERY == 0:
            _sample(rng, values, event, moment)
        if index % 10 == 0:
            counts["actor"][event["actor"]["id"]] += 1
            counts["action"][event["action"]] += 1
            if "resource" in event:
                counts["resource"][event["resource"]["id"]] += 1
        if len(batch) == batch_size:
            body = orjson.dumps({"events": batch})
            bodies.append(body)
            size += len(body)
            batch = []
    if batch:
        body = orjson.dumps({"events": batch})
        bodies.append(body)
        size += len(body)
    distinct = {name: len(counter) for name, counter in counts.items()}
    seconds = (datetime.now(UTC) - started).total_seconds()
    return Corpus(bodies, count, batch_size, values, distinct, size, seconds)


def _sample(rng: random.Random, values: QueryValues, event: Event, moment: datetime) -> None:
    actor = event["actor"]
    use_email = actor.get("email") and rng.random() < 0.3
    values.actors.append(actor["email"] if use_email else actor["id"])
    words = event["action"].split(".")
    depth = 2 if len(words) > 2 and rng.random() < 0.4 else 1
    values.action_prefixes.append(".".join(words[:depth]) + ".*")
    if "resource" in event:
        values.resources.append((event["resource"]["type"], event["resource"]["id"]))
    values.days.append(moment.date().isoformat())
    values.searches.append(_search_term(rng, actor))
