from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.integrity import (
    EMPTY_ROOT,
    Checkpoint,
    CheckpointError,
    IntegrityError,
    NoteError,
    Signer,
    open_checkpoint,
    origin_for_tenant,
    parse_checkpoint,
    sign_checkpoint,
)

# The example in c2sp.org/tlog-checkpoint.
C2SP_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


def test_c2sp_example_parses_and_round_trips() -> None:
    cp = parse_checkpoint(C2SP_TEXT)
    assert cp == Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert cp.to_text() == C2SP_TEXT


def test_empty_tree_checkpoint() -> None:
    cp = Checkpoint(origin_for_tenant("acme"), 0, EMPTY_ROOT)
    assert cp.to_text() == "trailkeeper/acme\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert parse_checkpoint(cp.to_text()) == cp


def test_extension_lines_are_kept() -> None:
    text = C2SP_TEXT + "Timestamp: 1689000000\nanother\n"
    cp = parse_checkpoint(text)
    assert cp.extensions == ("Timestamp: 1689000000", "another")
    assert cp.to_text() == text


@given(
    st.text(
        st.characters(blacklist_categories=["Cc", "Cs"], blacklist_characters="\u2028\u2029"),
        min_size=1,
    ),
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32),
)
def test_round_trip(origin: str, size: int, root: bytes) -> None:
    cp = Checkpoint(origin, size, root)
    assert parse_checkpoint(cp.to_text()) == cp


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("example.com/log\n1\n" + ROOT_B64, "end with a newline"),
        ("example.com/log\n1\n", "needs origin, tree size and root hash"),
        ("\n1\n" + ROOT_B64 + "\n", "origin must not be empty"),
        ("example.com/log\n01\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n00\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n+1\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n-1\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n 1\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n1_0\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n\uff11\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n18446744073709551616\n" + ROOT_B64 + "\n", "outside"),
        ("example.com/log\n" + "9" * 5000 + "\n" + ROOT_B64 + "\n", "without leading zeros"),
        ("example.com/log\n1\n" + ROOT_B64[:-1] + "\n", "not valid base64"),
        ("example.com/log\n1\n" + ROOT_B64[:-2] + "J=\n", "not canonical"),
        ("example.com/log\n1\n" + ROOT_B64 + " \n", "not valid base64"),
        ("example.com/log\n1\n" + base64.b64encode(b"\x00" * 31).decode() + "\n", "31 bytes"),
        ("example.com/log\n1\n\n", "0 bytes"),
        (C2SP_TEXT + "\n", "extension line must not be empty"),
        ("example\tcom\n1\n" + ROOT_B64 + "\n", "control characters"),
        ("example.com/log\r\n1\n" + ROOT_B64 + "\n", "control characters"),
    ],
)
def test_strict_parsing(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(text)


def test_checkpoint_values_are_validated() -> None:
    with pytest.raises(CheckpointError, match="origin must not be empty"):
        Checkpoint("", 1, ROOT)
    with pytest.raises(CheckpointError, match="newlines"):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(CheckpointError, match="outside"):
        Checkpoint("log", -1, ROOT)
    with pytest.raises(CheckpointError, match="root hash has 3 bytes"):
        Checkpoint("log", 1, b"abc")
    with pytest.raises(CheckpointError, match="extension line"):
        Checkpoint("log", 1, ROOT, ("",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Checkpoint("log", 1, ROOT).size = 2  # type: ignore[misc]


def test_origin_for_tenant() -> None:
    assert origin_for_tenant("acme-corp") == "trailkeeper/acme-corp"
    for bad in ("", "acme corp", "a+b", "a\nb", "tab\t"):
        with pytest.raises(CheckpointError, match="cannot be part of a checkpoint origin"):
            origin_for_tenant(bad)


def test_signed_checkpoint_round_trip() -> None:
    signer = Signer.generate("trailkeeper.example")
    cp = Checkpoint(origin_for_tenant("acme"), 20852163, ROOT)
    note = sign_checkpoint(cp, signer)
    assert note.startswith(cp.to_text() + "\n— trailkeeper.example ")
    assert open_checkpoint(note, signer.verifier()) == cp
    assert open_checkpoint(note, [signer.verifier()], origin="trailkeeper/acme") == cp


def test_signed_checkpoint_failures() -> None:
    signer = Signer.generate("trailkeeper.example")
    note = sign_checkpoint(Checkpoint("trailkeeper/acme", 5, ROOT), signer)
    with pytest.raises(CheckpointError, match="expected 'trailkeeper/other'"):
        open_checkpoint(note, signer.verifier(), origin="trailkeeper/other")
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_checkpoint(note, Signer.generate("trailkeeper.example").verifier())
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(note.replace("\n5\n", "\n6\n"), signer.verifier())
    # A validly signed note whose body is not a checkpoint.
    with pytest.raises(CheckpointError):
        open_checkpoint(
            "not\na checkpoint\n\n" + signer.signature_line("not\na checkpoint\n"),
            signer.verifier(),
        )
    assert issubclass(CheckpointError, IntegrityError)
    assert issubclass(NoteError, IntegrityError)
