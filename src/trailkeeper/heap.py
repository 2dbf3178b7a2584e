"""The garbage collector, set for long-running processes that make many short-lived
objects (ingest: ~50 per event, 1,000 events per batch).

CPython's collector counts allocations; every so often a collection walks every object
of the oldest generation, which after startup holds every module, class and function
imported (~118,000 objects once the API and CLI are); ingest allocates enough to start
such walks often. :func:`settle_heap` moves what
startup made into the permanent generation, which collections skip (``gc.freeze``), so a
walk costs what the live requests hold. Nothing frozen is lost: objects without cycles
are still freed by their reference counts; startup objects with cycles live as long as
the process anyway. Forked children inherit the frozen generation."""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Call once startup is done (modules imported, app built), before serving or
    forking workers."""
    gc.collect()
    gc.freeze()
