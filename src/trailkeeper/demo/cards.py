"""Episodes about cards, table records and configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trailkeeper.demo.cast import (
    AGENT,
    AUTOMATION,
    NEW_FIELD_LABELS,
    NEW_PHASE_NAMES,
    PURCHASE_REQUESTS,
    SERVICE_ACCOUNTS,
    SUPPLIER_FIELDS,
    SUPPLIERS_TABLE,
    VENDOR_DUE_DILIGENCE,
    Actor,
    Episode,
    Event,
    Pipe,
)
from trailkeeper.demo.story import Card, Story, change, slug, two_values


class Cards(Story):
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
        self.cards[pipe.resource.id][card_id] = Card(title, 0)
        metadata = {"card_id": card_id, "card_title": title, "phase_id": str(pipe.phase_base)}
        changes = change("phase", None, pipe.phases[0])
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
        changes = change("phase", pipe.phases[old], pipe.phases[card.phase])
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
        return change(label, *two_values(self.rng, pipe.fields[label]))

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
        old, new = two_values(self.rng, SUPPLIER_FIELDS[label])
        action = "table.record.updated"
        if self.rng.random() < 0.2:
            action, old = "table.record.created", None
        metadata = {"record_id": f"rec_{self.rng.randint(20_000, 29_999)}"}
        changes = change(label, old, new)
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
            changes = change("enforce_sso", not enforce, enforce)
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
        changes = change("name", None, name)
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
                changes = change("required", not required, required)
            else:
                changes = change("help_text", None, f"Fill in {label.lower()} before moving on")
            metadata = {"field_id": slug(label), "label": label}
        else:
            label, field_type = self.rng.choice(NEW_FIELD_LABELS)
            old, new = (None, label) if kind == "created" else (label, None)
            changes = change("label", old, new)
            metadata = {"field_id": slug(label), "label": label, "type": field_type}
        action = f"pipe.field.{kind}"
        return self.event(at, action, actor, pipe.resource, changes=changes, metadata=metadata)

    def automation_change(self, at: datetime, pipe: Pipe, actor: Actor) -> Event:
        name = self.rng.choice(pipe.automations)
        kind = self.rng.choice(("created", "updated", "updated", "toggled"))
        if kind == "toggled":
            enabled = name in self.disabled
            self.disabled ^= {name}
            action = "automation.enabled" if enabled else "automation.disabled"
            changes = change("enabled", not enabled, enabled)
        elif kind == "created":
            phase = self.rng.choice(pipe.phases[1:])
            name = f"Notify requester when card reaches {phase}"
            action = "automation.created"
            changes = change("trigger", None, {"event": "card_moved", "to_phase": phase})
        else:
            old, new = two_values(self.rng, pipe.phases)
            action = "automation.updated"
            changes = change(
                "trigger",
                {"event": "card_moved", "to_phase": old},
                {"event": "card_moved", "to_phase": new},
            )
        metadata = {"automation_id": f"auto_{slug(name)}", "name": name}
        return self.event(at, action, actor, pipe.resource, changes=changes, metadata=metadata)
