"""The C module's one pass over a JSON text counts what Python's byte methods count.

``parse_json`` reads three things off a body's bytes (the punctuation that bounds its
values, its ``:`` and whether a ``\\u003`` escape appears) with ``byte_counts`` where the
C module is there. Texts are drawn from the bytes that matter and any others, at every
length around the sixteen bytes the C loop takes at a time, and long enough that its byte
counters are summed more than once."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from profiles import examples
from support import needs_native
from trailkeeper.events.body import _punctuation_total

pieces = st.sampled_from([b",", b":", b"{", b"[", b"\\", b"u", b"0", b"3", b"\\u003", b'"', b"a"])
texts = st.lists(pieces | st.binary(max_size=20), max_size=60).map(b"".join) | st.binary()
# past 255 blocks of sixteen (4,080 bytes), where the C loop sums its byte lanes
long_texts = st.tuples(texts, st.integers(1, 400)).map(lambda pair: pair[0] * pair[1])


@needs_native
@settings(max_examples=examples(3000), deadline=None)
@given(texts | long_texts)
@example(b"")
@example(b"\\u003")
@example(b"\\u00\\u003")
@example(b"x" * 15 + b"\\u003")
@example(b":" * 17)
@example(b":" * 4096)  # 256 blocks of colons: a lane past 255 if never summed
@example(b",{[:" * 2000 + b"[")
@example(b'{"a":[1,{"b:c":2}],"\\u003a":3}' * 40)
def test_one_pass_counts_what_the_byte_methods_count(text: bytes) -> None:
    from trailkeeper._native import byte_counts

    assert byte_counts(text) == (_punctuation_total(text), text.count(b":"), b"\\u003" in text)
