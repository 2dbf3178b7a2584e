"""The demo data set: exact size, reproducible, and valid input per CONTRACT section 4."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trailkeeper.demo import demo_events

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)

ACTION = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
STORED_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
TOP_LEVEL = {
    "id",
    "action",
    "category",
    "occurred_at",
    "actor",
    "resource",
    "source",
    "ip",
    "user_agent",
    "changes",
    "run",
    "metadata",
}
ACTOR_TYPES = {"user", "service_account", "system", "agent", "automation"}
SOURCES = {"web", "api", "mcp", "cli", "system", "automation"}
DOC_NETWORKS = [
    ipaddress.ip_network(net) for net in ("203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32")
]


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return demo_events(NOW)


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _check_event(event: dict[str, Any]) -> None:
    """Everything the ingest validation would check, and the documentation address ranges."""
    assert set(event) <= TOP_LEVEL
    assert EVENT_ID.match(event["id"])
    assert ACTION.match(event["action"])
    assert len(event["action"]) <= 128
    assert isinstance(event["category"], str)
    assert 0 < len(event["category"]) <= 64
    assert STORED_TIME.match(event["occurred_at"])

    actor = event["actor"]
    assert set(actor) <= {"id", "type", "name", "email"}
    assert isinstance(actor["id"], str)
    assert actor["id"]
    assert actor["type"] in ACTOR_TYPES
    assert isinstance(actor["name"], str)
    if "email" in actor:
        assert actor["email"].endswith("@example.com")

    if "resource" in event:
        assert set(event["resource"]) == {"type", "id", "name"}
        assert all(isinstance(value, str) and value for value in event["resource"].values())
    assert event["source"] in SOURCES
    if "ip" in event:
        address = ipaddress.ip_address(event["ip"])
        assert any(address in network for network in DOC_NETWORKS)
    if "user_agent" in event:
        assert isinstance(event["user_agent"], str)
        assert 0 < len(event["user_agent"]) <= 512

    for change in event.get("changes", []):
        assert set(change) == {"field", "old", "new"}
        assert isinstance(change["field"], str)
        assert change["old"] != change["new"]
    if "run" in event:
        run = event["run"]
        assert set(run) == {
            "id",
            "flow",
            "step",
            "status",
            "input",
            "output",
            "error",
            "duration_ms",
        }
        assert isinstance(run["id"], str)
        assert isinstance(run["flow"], str)
        assert isinstance(run["status"], str)
        assert isinstance(run["input"], dict)
        assert isinstance(run["output"], dict)
        assert run["error"] is None or isinstance(run["error"], str)
        assert isinstance(run["duration_ms"], int)
        assert run["duration_ms"] >= 0
    assert isinstance(event.get("metadata", {}), dict)

    encoded = json.dumps(event, allow_nan=False)
    assert json.loads(encoded) == event
    assert len(encoded.encode()) <= 64 * 1024


@pytest.mark.parametrize("count", [0, 1, 2, 7, 50, 2000, 2345])
def test_returns_exactly_count_events(count: int) -> None:
    assert len(demo_events(NOW, count=count)) == count


def test_default_is_2000_events(events: list[dict[str, Any]]) -> None:
    assert len(events) == 2000


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        demo_events(NOW, count=-1)


def test_same_inputs_give_the_same_events(events: list[dict[str, Any]]) -> None:
    assert demo_events(NOW) == events
    assert demo_events(NOW, count=300, seed=11) == demo_events(NOW, count=300, seed=11)


def test_other_seed_gives_other_events(events: list[dict[str, Any]]) -> None:
    assert demo_events(NOW, seed=8) != events


def test_naive_now_is_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert demo_events(naive, count=100) == demo_events(NOW, count=100)


def test_every_event_is_valid_input(events: list[dict[str, Any]]) -> None:
    for event in events:
        _check_event(event)


@pytest.mark.parametrize("seed", [1, 2, 3, 42])
def test_other_seeds_are_valid_too(seed: int) -> None:
    events = demo_events(NOW, count=400, seed=seed)
    assert len(events) == 400
    for event in events:
        _check_event(event)


def test_ids_are_sequential_and_unique(events: list[dict[str, Any]]) -> None:
    ids = [event["id"] for event in events]
    assert ids == [f"demo-{n:05d}" for n in range(1, len(events) + 1)]
    assert len(set(ids)) == len(ids)


def test_times_are_in_the_last_90_days_and_sorted(events: list[dict[str, Any]]) -> None:
    times = [_time(event) for event in events]
    assert all(NOW - timedelta(days=90) <= at <= NOW for at in times)
    assert times == sorted(times)
    # Spread over the whole window, not bunched at one end.
    assert times[0] < NOW - timedelta(days=85)
    assert times[-1] > NOW - timedelta(days=2)


def test_times_stay_in_window_for_an_odd_now() -> None:
    now = datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC) + timedelta(hours=5)
    for event in demo_events(now, count=500, seed=3):
        assert now - timedelta(days=90) <= _time(event) <= now


def test_activity_follows_the_working_week(events: list[dict[str, Any]]) -> None:
    weekend = sum(1 for event in events if _time(event).weekday() >= 5)
    assert weekend / len(events) < 0.15


def test_workflow_runs_hang_together(events: list[dict[str, Any]]) -> None:
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if "run" in event:
            runs[event["run"]["id"]].append(event)
    assert len(runs) >= 20
    for run_events in runs.values():
        actions = [event["action"] for event in run_events]
        assert actions[0] == "flow.run.started"
        assert actions[-1] == "flow.run.completed"
        assert actions.count("flow.run.started") == actions.count("flow.run.completed") == 1
        assert all(action.startswith("flow.run.step.") for action in actions[1:-1])
        assert len({event["run"]["flow"] for event in run_events}) == 1
        assert len({event["resource"]["id"] for event in run_events}) == 1
        times = [_time(event) for event in run_events]
        assert times == sorted(set(times))
        assert times[-1] - times[0] < timedelta(minutes=10)
        steps = run_events[1:-1]
        assert all(event["run"]["step"] for event in steps)
        completed = run_events[-1]["run"]
        if any(event["action"] == "flow.run.step.failed" for event in steps):
            assert steps[-1]["action"] == "flow.run.step.failed"
            assert steps[-1]["run"]["error"]
            assert completed["status"] == "failed"
            assert completed["error"] == steps[-1]["run"]["error"]
        else:
            assert completed["status"] == "succeeded"
            assert completed["error"] is None


def test_some_runs_fail(events: list[dict[str, Any]]) -> None:
    failed = [event for event in events if event["action"] == "flow.run.step.failed"]
    assert failed
    assert all(event["run"]["status"] == "failed" for event in failed)


def test_the_mix_is_varied(events: list[dict[str, Any]]) -> None:
    actors = {event["actor"]["id"] for event in events}
    resources = {event["resource"]["id"] for event in events if "resource" in event}
    families = {event["action"].split(".")[0] for event in events}
    categories = {event["category"] for event in events}
    assert len(actors) >= 15
    assert len({event["actor"]["id"] for event in events if event["actor"]["type"] == "user"}) >= 12
    assert len(resources) >= 8
    assert len(families) >= 10
    assert len(categories) >= 8
    assert {event["actor"]["type"] for event in events} == ACTOR_TYPES
    assert {event["source"] for event in events} >= {"web", "api", "mcp", "automation", "system"}
    assert all(event["source"] == "mcp" for event in events if event["actor"]["type"] == "agent")


def test_every_documented_family_is_present(events: list[dict[str, Any]]) -> None:
    expected = {
        "card.created",
        "card.moved",
        "card.updated",
        "card.deleted",
        "pipe.field.created",
        "pipe.field.updated",
        "pipe.field.deleted",
        "phase.created",
        "automation.created",
        "automation.updated",
        "automation.enabled",
        "automation.disabled",
        "user.login.succeeded",
        "user.login.failed",
        "user.logout",
        "member.invited",
        "member.role_changed",
        "api_token.created",
        "api_token.revoked",
        "api.request",
        "audit_log.exported",
        "flow.run.started",
        "flow.run.step.succeeded",
        "flow.run.step.failed",
        "flow.run.completed",
    }
    assert expected <= {event["action"] for event in events}


def test_card_moves_record_the_phase_change(events: list[dict[str, Any]]) -> None:
    moves = [event for event in events if event["action"] == "card.moved"]
    assert moves
    for event in moves:
        assert event["resource"]["type"] == "pipe"
        assert event["metadata"]["card_id"]
        [change] = event["changes"]
        assert change["field"] == "phase"
        assert isinstance(change["old"], str)
        assert isinstance(change["new"], str)


def test_card_ids_follow_their_card(events: list[dict[str, Any]]) -> None:
    """A card is created before it is moved, and nothing happens to it after it is deleted."""
    created: set[str] = set()
    deleted: set[str] = set()
    for event in events:
        if event["action"].startswith("card."):
            card_id = event["metadata"]["card_id"]
            assert card_id not in deleted
            if event["action"] == "card.created":
                created.add(card_id)
            else:
                assert card_id in created
            if event["action"] == "card.deleted":
                deleted.add(card_id)


def test_api_requests_say_what_was_called(events: list[dict[str, Any]]) -> None:
    requests = [event for event in events if event["action"] == "api.request"]
    assert requests
    for event in requests:
        metadata = event["metadata"]
        assert metadata["method"] in {"GET", "POST", "PATCH"}
        assert metadata["path"].startswith("/")
        assert 200 <= metadata["status"] < 600
    assert any(event["metadata"]["status"] >= 400 for event in requests)


def test_failed_logins_carry_address_and_client(events: list[dict[str, Any]]) -> None:
    failed = [event for event in events if event["action"] == "user.login.failed"]
    assert failed
    assert all("ip" in event and "user_agent" in event for event in failed)
