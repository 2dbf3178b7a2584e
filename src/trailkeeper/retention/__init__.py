"""Retention and erasure, the pure parts: policies and their validation, which
events a retention run removes, and the archive files' keys (no I/O here)."""

from trailkeeper.retention.policy import MAX_DAYS, Policy, parse_policy_update
from trailkeeper.retention.schedule import archive_key, cutoff, day_end, day_of

__all__ = [
    "MAX_DAYS",
    "Policy",
    "archive_key",
    "cutoff",
    "day_end",
    "day_of",
    "parse_policy_update",
]
