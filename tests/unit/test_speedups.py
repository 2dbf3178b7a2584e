"""The C module is used only when it was built for the running code's row layout."""

from __future__ import annotations

import subprocess
import sys

from support import needs_native
from trailkeeper import rowlayout

STALE_BUILD = """
import sys, types
stale = types.ModuleType("trailkeeper._native")
stale.LAYOUT = {layout}
stale.encode_rows = stale.jsonl_block = stale.draft_leaf = stale.rfc3339_utc = stale.byte_counts = (
    lambda *args: ["native"]
)
sys.modules["trailkeeper._native"] = stale
from trailkeeper import speedups
from trailkeeper.events.leaves import encode_rows
print(speedups.LOADED, speedups.STALE, encode_rows([], 0))
"""


def run_with_build(layout: object) -> str:
    done = subprocess.run(
        [sys.executable, "-c", STALE_BUILD.format(layout=layout)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TRAILKEEPER_NATIVE": "1"},
    )
    return done.stdout.strip()


def test_a_module_built_for_another_layout_is_left_for_the_python_loops() -> None:
    assert run_with_build(rowlayout.LAYOUT + 1) == "False True []"
    assert run_with_build(None) == "False True []"  # built before LAYOUT existed


def test_a_module_built_for_this_layout_is_used() -> None:
    assert run_with_build(rowlayout.LAYOUT) == "True False ['native']"


@needs_native
def test_the_built_module_carries_the_layout_it_was_compiled_with() -> None:
    from trailkeeper import _native

    assert _native.LAYOUT == rowlayout.LAYOUT


def test_the_c_header_names_every_column_in_order() -> None:
    header = rowlayout.c_header()
    assert "C_ID, C_SEQ, C_ACTION" in header
    assert "C_LEAF_HASH, C_PII_SALT, C_COUNT" in header
    assert "E_PII_SALT, E_RUN_ID, E_COUNT" in header
    assert f"#define TK_LAYOUT {rowlayout.LAYOUT}L" in header
