from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.integrity import NodeID, range_nodes


def test_node_coverage_and_family() -> None:
    node = NodeID(2, 3)
    assert (node.begin, node.end) == (12, 16)
    assert node.parent() == NodeID(3, 1)
    assert node.sibling() == NodeID(2, 2)
    assert NodeID(2, 2).sibling() == node
    assert sorted([NodeID(1, 0), NodeID(0, 5), NodeID(0, 1)]) == [
        NodeID(0, 1),
        NodeID(0, 5),
        NodeID(1, 0),
    ]


def test_nodes_are_hashable_values() -> None:
    assert {NodeID(1, 2): "x"}[NodeID(1, 2)] == "x"
    with pytest.raises(AttributeError):
        NodeID(1, 2).level = 3  # type: ignore[misc]


def test_edge_of_tree_has_one_node_per_set_bit() -> None:
    assert range_nodes(0, 0) == []
    assert range_nodes(0, 7) == [NodeID(2, 0), NodeID(1, 2), NodeID(0, 6)]
    assert range_nodes(0, 8) == [NodeID(3, 0)]
    assert range_nodes(3, 8) == [NodeID(0, 3), NodeID(2, 1)]
    assert range_nodes(5, 13) == [NodeID(0, 5), NodeID(1, 3), NodeID(2, 2), NodeID(0, 12)]


@pytest.mark.parametrize(("begin", "end"), [(-1, 3), (4, 3)])
def test_range_nodes_rejects_bad_ranges(begin: int, end: int) -> None:
    with pytest.raises(ValueError, match="invalid leaf range"):
        range_nodes(begin, end)


def _greedy(begin: int, end: int) -> list[NodeID]:
    """Obvious algorithm: take the largest aligned perfect subtree that fits, repeatedly."""
    nodes = []
    while begin < end:
        level = 0
        while begin % (1 << (level + 1)) == 0 and begin + (1 << (level + 1)) <= end:
            level += 1
        nodes.append(NodeID(level, begin >> level))
        begin += 1 << level
    return nodes


@given(st.integers(0, 5000), st.integers(0, 5000))
def test_range_nodes_is_the_minimal_cover(a: int, b: int) -> None:
    begin, end = min(a, b), max(a, b)
    assert range_nodes(begin, end) == _greedy(begin, end)
