"""Hypothesis example counts for two profiles: the default (the whole suite, what CI runs)
and ``quick`` (``./scripts/test --quick`` passes ``--hypothesis-profile quick``).

A test that sets its own ``max_examples`` asks for it through :func:`examples`, so the
quick loop runs every property test with a quarter of its examples (at least ten) while the
whole suite runs exactly the count written in the test."""

from __future__ import annotations

from hypothesis import settings

__all__ = ["QUICK_EXAMPLES", "examples"]

QUICK_EXAMPLES = 25
"""The quick profile's default: a quarter of Hypothesis's 100."""

settings.register_profile("quick", max_examples=QUICK_EXAMPLES)


def examples(count: int) -> int:
    """``count`` under the default profile; scaled as the loaded profile scales Hypothesis's
    default of 100 (but never below ``min(count, 10)``) under another, such as ``quick``."""
    share = settings().max_examples
    if share >= 100:
        return count
    return max(min(count, 10), count * share // 100)
