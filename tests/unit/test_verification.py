"""``verify``'s classification, on synthetic logs: which seq is named, and what is wrong.

A log here is what a store would hand the verifier: rows ``(view, pii_salt)`` in seq order,
the tree's tiles as integration wrote them, and the signed checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from support import make_event
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.integrity import (
    Checkpoint,
    generate_signer_key,
    parse_signer_key,
    root_from_leaf_hashes,
    sign_checkpoint,
)
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH, extend_tile
from trailkeeper.service.integrity import integrate_step
from trailkeeper.storage.protocols import CheckpointRecord, TreeState
from trailkeeper.storage.trees import EMPTY_TREE
from trailkeeper.verify import (
    LogVerifier,
    Problem,
    TrustedCheckpoint,
    check_checkpoints,
    recompute,
)
from trailkeeper.verify.chunks import plan_chunks

RECEIVED = "2026-11-10T12:00:00.000000Z"
View = dict[str, Any]


def rows_of(events: list[dict[str, Any]]) -> list[tuple[View, bytes | None]]:
    """Sequenced rows as a store's ``scan`` yields them."""
    drafts = drafts_from_events(events)
    return [
        (draft.sequenced(seq, RECEIVED), bytes.fromhex(draft.pii_salt))
        for seq, draft in enumerate(drafts)
    ]


@dataclass
class Log:
    rows: list[tuple[View, bytes | None]]
    tiles: dict[tuple[int, int], bytes]
    checkpoints: list[TrustedCheckpoint]
    state: TreeState
    reads: list[tuple[int, int]] = field(default_factory=list)

    def read_tiles(self, keys: Any) -> dict[tuple[int, int], bytes]:
        wanted = list(keys)
        self.reads.extend(wanted)
        return {k: self.tiles[k] for k in wanted if k in self.tiles}

    def verify(self, rows: list[tuple[View, bytes | None]] | None = None) -> LogVerifier:
        checker = LogVerifier(
            checkpoints=self.checkpoints, tree=self.state, read_tiles=self.read_tiles
        )
        checker.run(self.rows if rows is None else rows)
        checker.finish()
        return checker

    def view(self, seq: int) -> View:
        return self.rows[seq][0]

    def set_tile_leaf(self, seq: int, digest: bytes) -> None:
        key = (0, seq >> TILE_HEIGHT)
        blob = bytearray(self.tiles[key])
        at = (seq & (TILE_WIDTH - 1)) * 32
        blob[at : at + 32] = digest
        self.tiles[key] = bytes(blob)


def make_log(
    count: int = 120, checkpoints: tuple[int, ...] = (40, 100), integrated: int = 100
) -> Log:
    rows = rows_of([make_event(i) for i in range(count)])
    leaves = [bytes.fromhex(view["leaf_hash"]) for view, _ in rows]
    state, additions = integrate_step(EMPTY_TREE, leaves[:integrated])
    tiles = {key: extend_tile(b"", entries) for key, entries in additions.items()}
    trusted = [TrustedCheckpoint(n, root_from_leaf_hashes(leaves[:n])) for n in checkpoints]
    return Log(rows, tiles, trusted, state)


def kinds(checker: LogVerifier) -> list[tuple[int | None, str]]:
    return [(p.seq, p.kind) for p in checker.problems]


def rehash(view: View) -> View:
    """What an attacker who also rewrites ``leaf_hash`` stores."""
    leaf, error, _ = recompute(view, None)
    assert leaf is not None, error
    return {**view, "leaf_hash": leaf.hex()}


def test_an_intact_log_verifies() -> None:
    log = make_log()
    checker = log.verify()
    assert checker.problems == []
    assert checker.problem_count == 0
    assert checker.rows == 120
    assert checker.log_size == 120
    assert checker.checkpoints_verified == 2
    assert checker.matched == {40, 100}


def test_an_empty_log_with_nothing_signed_verifies() -> None:
    checker = LogVerifier()
    checker.run([])
    assert checker.finish() == []


def test_a_changed_field_is_altered_at_its_seq() -> None:
    log = make_log()
    view = log.view(57)
    log.rows[57] = ({**view, "metadata": {"card_id": "forged"}}, log.rows[57][1])
    checker = log.verify()
    assert kinds(checker) == [(57, "altered")]
    assert "no longer hash to its leaf_hash" in checker.problems[0].message
    # the tree was fed the leaf it recorded, so the checkpoints still check the rest
    assert checker.checkpoints_verified == 2


def test_changed_personal_data_breaks_the_pii_commitment() -> None:
    log = make_log()
    view = log.view(80)
    log.rows[80] = ({**view, "actor": {**view["actor"], "name": "Mallory"}}, log.rows[80][1])
    checker = log.verify()
    assert kinds(checker) == [(80, "altered")]
    assert "personal data" in checker.problems[0].message


def test_personal_data_without_its_salt_is_altered_but_an_erased_row_is_not() -> None:
    log = make_log()
    log.rows[10] = (log.view(10), None)  # salt removed, data kept
    erased = log.view(11)
    log.rows[11] = (
        {**erased, "actor": {**erased["actor"], "name": None, "email": None}, "ip": None},
        None,
    )
    checker = log.verify()
    assert kinds(checker) == [(10, "altered")]
    assert "no pii_salt" in checker.problems[0].message


def test_a_deleted_row_is_missing() -> None:
    log = make_log()
    checker = log.verify([row for row in log.rows if row[0]["seq"] != 20])
    assert kinds(checker) == [(20, "missing")]
    assert checker.checkpoints_verified == 2  # the tree's own leaf stood in


def test_deleted_rows_are_one_missing_range() -> None:
    log = make_log()
    checker = log.verify([row for row in log.rows if not 20 <= row[0]["seq"] < 25])
    assert kinds(checker) == [(20, "missing")]
    assert checker.problems[0].last_seq == 24
    assert "seqs 20..24 (5 rows) are missing" in checker.problems[0].message


@pytest.mark.parametrize("first", [True, False])
def test_a_second_row_with_one_seq_is_inserted(first: bool) -> None:
    log = make_log()
    forged = rows_of([make_event(999, action="user.deleted")])[0]
    forged = ({**forged[0], "seq": 30}, forged[1])
    forged = (rehash(forged[0]), forged[1])
    rows = list(log.rows)
    rows.insert(30 if first else 31, forged)
    checker = log.verify(rows)
    assert kinds(checker) == [(30, "inserted")]
    assert "evt-999" in checker.problems[0].message
    assert checker.checkpoints_verified == 2


def test_a_row_with_a_bogus_seq_is_inserted() -> None:
    log = make_log()
    rows = list(log.rows)
    rows.insert(58, ({**log.view(57), "seq": 57.5, "id": "evt-x"}, None))
    checker = log.verify(rows)
    assert kinds(checker) == [(58, "inserted")]
    assert "57.5" in checker.problems[0].message


def test_swapped_rows_are_reordered() -> None:
    log = make_log()
    a, b = log.rows[60], log.rows[61]
    rows = list(log.rows)
    rows[60] = ({**b[0], "seq": 60}, b[1])
    rows[61] = ({**a[0], "seq": 61}, a[1])
    checker = log.verify(rows)
    assert kinds(checker) == [(60, "reordered"), (61, "reordered")]
    assert "holds the event of seq 61" in checker.problems[0].message
    assert checker.checkpoints_verified == 2


def test_a_row_moved_far_is_found_through_the_tiles() -> None:
    log = make_log()
    rows = list(log.rows)
    far = log.rows[90]
    rows[50] = ({**far[0], "seq": 50}, far[1])
    checker = log.verify(rows)
    assert (50, "reordered") in kinds(checker)
    assert "holds the event of seq 90" in checker.problems[0].message


def test_swapped_rows_beyond_the_tree_are_reordered_too() -> None:
    log = make_log()
    a, b = log.rows[110], log.rows[111]
    rows = list(log.rows)
    rows[110] = ({**b[0], "seq": 110}, b[1])
    rows[111] = ({**a[0], "seq": 111}, a[1])
    checker = log.verify(rows)
    assert kinds(checker) == [(110, "reordered"), (111, "reordered")]


def test_deleting_the_newest_rows_truncates() -> None:
    log = make_log()
    checker = log.verify(log.rows[:85])
    assert kinds(checker) == [(85, "truncated")]
    problem = checker.problems[0]
    assert problem.last_seq == 99
    assert "checkpoint of size 100" in problem.message
    assert checker.checkpoints_verified == 1


def test_a_tail_beyond_the_tree_cannot_be_missed_by_anyone() -> None:
    """Rows never integrated nor signed may go unnoticed: nothing recorded them."""
    log = make_log()
    assert log.verify(log.rows[:105]).problems == []


def test_an_altered_row_with_a_rewritten_leaf_hash_differs_from_the_tree() -> None:
    log = make_log()
    log.rows[70] = (rehash({**log.view(70), "action": "card.deleted"}), log.rows[70][1])
    checker = log.verify()
    assert kinds(checker) == [(70, "altered")]
    message = checker.problems[0].message
    assert "leaf_hash rewritten" in message
    assert "checkpoint of size 100 confirms" in message


def test_a_rewritten_tree_leaf_too_is_caught_by_the_checkpoint() -> None:
    """Rows, leaf_hash and the level-0 tile rewritten: the higher tile node and, in the end,
    the signed root still name the seqs around it."""
    log = make_log()
    forged = rehash({**log.view(70), "action": "card.deleted"})
    log.rows[70] = (forged, log.rows[70][1])
    log.set_tile_leaf(70, bytes.fromhex(forged["leaf_hash"]))
    checker = log.verify()
    assert checker.problem_count == 1
    problem = checker.problems[0]
    assert problem.kind == "altered"
    assert problem.seq is not None
    assert problem.last_seq is not None
    assert problem.seq <= 70 <= problem.last_seq
    assert problem.last_seq - problem.seq < 2**TILE_HEIGHT


def test_one_bad_row_does_not_hide_another() -> None:
    log = make_log()
    log.rows[57] = ({**log.view(57), "action": "card.deleted"}, log.rows[57][1])
    forged = rehash({**log.view(70), "action": "card.deleted"})
    log.rows[70] = (forged, log.rows[70][1])
    log.set_tile_leaf(70, bytes.fromhex(forged["leaf_hash"]))
    checker = log.verify()
    assert [p.kind for p in checker.problems] == ["altered", "altered"]
    first, second = checker.problems
    assert first.seq == 57
    assert second.seq is not None
    assert second.last_seq is not None
    assert second.seq <= 70 <= second.last_seq
    assert "checkpoint of size 100 confirms" in second.message


def test_everything_rewritten_is_still_caught_by_the_signed_root() -> None:
    """Rows, leaf hashes and every tile: only the signed checkpoint is left to tell."""
    log = make_log()
    log.rows[70] = (rehash({**log.view(70), "action": "card.deleted"}), log.rows[70][1])
    leaves = [bytes.fromhex(view["leaf_hash"]) for view, _ in log.rows[:100]]
    log.state, additions = integrate_step(EMPTY_TREE, leaves)
    log.tiles = {key: extend_tile(b"", entries) for key, entries in additions.items()}
    checker = log.verify()
    assert kinds(checker) == [(40, "altered")]
    assert checker.problems[0].last_seq == 99
    assert "checkpoint of size 100 does not match" in checker.problems[0].message
    assert checker.matched == {40}


def test_a_damaged_tile_is_a_tree_problem_not_an_altered_event() -> None:
    log = make_log()
    log.set_tile_leaf(33, b"\x07" * 32)
    checker = log.verify()
    assert kinds(checker) == [(33, "tree")]
    assert "checkpoint of size 40" in checker.problems[0].message


def test_a_missing_tile_is_a_tree_problem() -> None:
    log = make_log()
    del log.tiles[(0, 2)]
    checker = log.verify()
    assert kinds(checker)[0] == (2 * TILE_WIDTH, "tree")
    assert "lacks the leaf" in checker.problems[0].message


def test_a_damaged_tree_state_is_a_tree_problem() -> None:
    log = make_log()
    log.state = TreeState(log.state.size, (b"\x09" * 32, *log.state.edge[1:]), b"\x09" * 32)
    checker = log.verify()
    assert kinds(checker) == [(None, "tree")]
    assert "tree state (size 100)" in checker.problems[0].message


def test_an_integrated_but_unsigned_difference_is_left_open() -> None:
    """Without a checkpoint over it, a row that differs from the tree's leaf may be an
    altered event or a damaged tree: the report says so."""
    log = make_log(checkpoints=(40,))
    log.rows[70] = (rehash({**log.view(70), "action": "card.deleted"}), log.rows[70][1])
    checker = log.verify()
    assert kinds(checker) == [(70, "altered")]
    assert "no signed checkpoint covers it yet" in checker.problems[0].message


def test_a_flood_of_rows_under_one_seq_is_reported_without_holding_them() -> None:
    log = make_log()
    extra = [({**log.view(30), "id": f"x-{i}"}, log.rows[30][1]) for i in range(100)]
    checker = log.verify([*log.rows[:31], *extra, *log.rows[31:]])
    assert set(kinds(checker)) == {(30, "inserted")}
    assert checker.problem_count == 100
    assert checker.checkpoints_verified == 2


def test_an_altered_row_beyond_the_checkpoints_is_named_as_not_yet_covered() -> None:
    log = make_log()
    log.rows[110] = ({**log.view(110), "source": "api"}, log.rows[110][1])
    checker = log.verify()
    assert kinds(checker) == [(110, "altered")]
    assert "not yet covered by a checkpoint" in checker.problems[0].message


def test_a_changed_leaf_hash_column_alone_is_altered() -> None:
    log = make_log()
    log.rows[12] = ({**log.view(12), "leaf_hash": "ab" * 32}, log.rows[12][1])
    checker = log.verify()
    assert kinds(checker) == [(12, "altered")]
    assert "stored leaf_hash was changed" in checker.problems[0].message


def test_a_field_that_cannot_be_encoded_is_altered() -> None:
    log = make_log()
    log.rows[15] = ({**log.view(15), "metadata": {"x": 2**80}}, log.rows[15][1])
    checker = log.verify()
    assert kinds(checker) == [(15, "altered")]
    assert "cannot be encoded" in checker.problems[0].message


def test_events_with_floats_are_hashed_as_jcs() -> None:
    events = [make_event(i, metadata={"ratio": 0.1 * i, "tiny": 1.5e-7, "n": i}) for i in range(20)]
    rows = rows_of(events)
    checker = LogVerifier()
    checker.run(rows)
    assert checker.finish() == []


def test_unreadable_rows_stop_the_check_where_they_are() -> None:
    log = make_log()
    checker = LogVerifier(checkpoints=log.checkpoints, read_tiles=log.read_tiles)
    checker.run(log.rows[:30])
    checker.unreadable(ValueError("unexpected character"))
    problems = checker.finish()
    assert [(p.seq, p.kind) for p in problems] == [(30, "unreadable")]


def test_problems_beyond_the_cap_are_counted() -> None:
    log = make_log()
    rows = [({**view, "source": "x"}, salt) for view, salt in log.rows[:30]]
    checker = LogVerifier(max_problems=5)
    checker.run(rows)
    checker.finish()
    assert len(checker.problems) == 5
    assert checker.problem_count == 30


SIGNER = parse_signer_key(generate_signer_key("test-log"))


def record(size: int, root: bytes, tenant: str = "acme") -> CheckpointRecord:
    from datetime import UTC, datetime

    note = sign_checkpoint(Checkpoint(f"trailkeeper/{tenant}", size, root), SIGNER)
    return CheckpointRecord(size, root, note, datetime.now(UTC))


def test_checkpoints_must_be_signed_for_the_tenant_by_the_key() -> None:
    good = record(5, b"\x01" * 32)
    other_tenant = record(6, b"\x02" * 32, tenant="other")
    other_key = parse_signer_key(generate_signer_key("test-log"))
    note = sign_checkpoint(Checkpoint("trailkeeper/acme", 7, b"\x03" * 32), other_key)
    forged = CheckpointRecord(7, b"\x03" * 32, note, good.created_at)
    relabelled = CheckpointRecord(8, b"\x04" * 32, good.note, good.created_at)
    trusted, problems, signed = check_checkpoints(
        [good, other_tenant, forged, relabelled], SIGNER.verifier(), "acme"
    )
    assert trusted == [TrustedCheckpoint(5, b"\x01" * 32)]
    assert signed == 2  # the relabelled one is validly signed, for another size
    assert [p.kind for p in problems] == ["checkpoint"] * 3
    assert "size 6" in problems[0].message
    assert "trailkeeper/other" in problems[0].message
    assert "size 7" in problems[1].message
    assert "size 8" in problems[2].message
    assert "differs from its signed note" in problems[2].message


def test_problem_as_dict() -> None:
    assert Problem(3, "missing", "m", 5).as_dict() == {
        "seq": 3,
        "kind": "missing",
        "message": "m",
        "last_seq": 5,
    }
    assert Problem(None, "tree", "t").as_dict() == {"seq": None, "kind": "tree", "message": "t"}


# chunk planning -----------------------------------------------------------------------


class LastSeq:
    """A reader that only knows where the log ends (and learns of later rows)."""

    def __init__(self, *answers: int | None) -> None:
        self.answers = list(answers)

    def last_seq(self, tenant_id: int) -> int | None:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def plan(reader: LastSeq, covered: int, checkpoints: tuple[int, ...] = ()) -> list[Any]:
    tasks = plan_chunks(
        reader, 7, height=4, integrated=covered, covered=covered, checkpoints=checkpoints
    )
    return [(t.first, t.open_start, t.open_end, t.cuts) for t in tasks]


def test_chunks_cover_the_log_and_what_lies_around_it() -> None:
    assert plan(LastSeq(None), 0) == [(0, True, True, ())]
    assert plan(LastSeq(39), 40, (20, 32, 33, 40)) == [
        (0, True, False, ()),
        (16, False, False, (20,)),
        (32, False, True, (33, 40)),
    ]


def test_rows_beyond_the_signed_tree_are_chunked_too() -> None:
    """The tree covers 20 rows, 100 are stored, 30 more arrive while checking."""
    assert [first for first, *_ in plan(LastSeq(99, 129), 20)] == list(range(0, 129, 16))
