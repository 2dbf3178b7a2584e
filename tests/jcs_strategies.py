"""Hypothesis strategies for texts that test a canonical JSON encoder: JSON's escapes,
characters around U+E000 (where JCS's UTF-16 key order may differ from code point order),
and keys made mostly of those."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["characters", "keys", "texts"]

characters = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from('\b\f\n\r\t\x00\x1f\x7f"\\/\u2028\ud7ff\ue000\uffff\U0001f600'),
    st.characters(max_codepoint=0x7F),
)
texts = st.text(characters, max_size=10)
keys = st.one_of(texts, st.text(st.sampled_from("a\x7f\ud7ff\ue000\uffff\U0001f600"), max_size=3))
