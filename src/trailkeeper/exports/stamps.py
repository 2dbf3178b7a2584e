"""The API's timestamp text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) for whole Arrow columns.

Formatting each timestamp in Python costs more than reading its row, and Arrow's own
``strftime`` about as much; so the text is assembled from tables instead: the day's prefix
(one per distinct day of the batch), ``HH:MM:SS.`` for each second of a day, and the six
digits of the fraction as two halves of three. Rows before 1970 (which integer division
would round the wrong way) are formatted by :func:`format_micros` itself.
"""

from __future__ import annotations

from functools import cache, lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from trailkeeper.events.leaves import THOUSANDS, clock_texts
from trailkeeper.events.timestamps import format_micros

__all__ = ["stamp_column", "stamp_parts"]

_DAY = 86_400_000_000
_SECOND = 1_000_000
_STRING = pa.string()


@cache
def _tables() -> tuple[pa.Array, pa.Array, pa.Array]:
    """``HH:MM:SS.`` for each second of a day (~1 MB), ``000``-``999``, ``000Z``-``999Z``."""
    return (
        pa.array(list(clock_texts()), _STRING),  # not leaves' list: 5 MB kept for good
        pa.array(THOUSANDS, _STRING),
        pa.array([d + "Z" for d in THOUSANDS], _STRING),
    )


@lru_cache(maxsize=4096)
def _day_prefix(days: int) -> str:
    return format_micros(days * _DAY)[:11]


def stamp_column(micros: pa.Array) -> pa.Array:
    """The API's text of each timestamp in ``micros`` (int64 microseconds since the epoch,
    no nulls): what :func:`~trailkeeper.events.timestamps.format_micros` gives."""
    return pc.binary_join_element_wise(*stamp_parts(micros), "")


def stamp_parts(micros: pa.Array) -> list[pa.Array]:
    """Columns whose row-wise concatenation is :func:`stamp_column` (for joining them into
    longer text in one step)."""
    if len(micros) == 0 or pc.min(micros).as_py() < 0:
        return [pa.array([format_micros(m) for m in micros.to_pylist()], _STRING)]
    clock, digits, digits_z = _tables()
    days = pc.divide(micros, _DAY)
    rest = pc.subtract(micros, pc.multiply(days, _DAY))
    seconds = pc.divide(rest, _SECOND)
    fraction = pc.subtract(rest, pc.multiply(seconds, _SECOND))
    thousands = pc.divide(fraction, 1000)
    units = pc.subtract(fraction, pc.multiply(thousands, 1000))
    distinct = pc.unique(days)
    prefixes = pa.array([_day_prefix(d) for d in distinct.to_pylist()], _STRING)
    return [
        prefixes.take(pc.index_in(days, value_set=distinct)),
        clock.take(seconds),
        digits.take(thousands),
        digits_z.take(units),
    ]
