from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trailkeeper.integrity import (
    SIGTYPE_ED25519,
    NoteError,
    Signer,
    Verifier,
    generate_signer_key,
    key_id,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    verifier_key_from_signer_key,
)

# golang.org/x/mod/sumdb/note note_test.go
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    "gotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)


def _insert_abcd(sig_line: str) -> str:
    """Go's ``sig[:60] + "ABCD" + sig[60:]``, where 60 counts UTF-8 bytes."""
    raw = sig_line.encode()
    return (raw[:60] + b"ABCD" + raw[60:]).decode()


def test_go_vector_keys_parse() -> None:
    verifier = parse_verifier_key(PETER_VKEY)
    signer = parse_signer_key(PETER_SKEY)
    assert verifier.name == signer.name == "PeterNeumann"
    assert verifier.key_id == signer.key_id == 0xC74F20A3
    assert verifier.public_key == signer.public_key
    assert verifier.key_string == PETER_VKEY
    assert signer.key_string == PETER_SKEY
    assert verifier_key_from_signer_key(PETER_SKEY) == PETER_VKEY
    assert key_id("PeterNeumann", SIGTYPE_ED25519, verifier.public_key) == 0xC74F20A3


def test_go_vector_signature_is_reproduced() -> None:
    assert sign_note(TEXT, parse_signer_key(PETER_SKEY)) == TEXT + "\n" + PETER_SIG


def test_go_vector_open() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [peter]) == TEXT
    assert open_note(note, [enoch]) == TEXT
    assert open_note(note, [peter, enoch]) == TEXT
    assert open_note(note, peter) == TEXT
    assert open_note(note.encode(), [peter]) == TEXT
    # The same verifier twice is not ambiguous: it is one key.
    assert open_note(TEXT + "\n" + PETER_SIG, [enoch, peter, enoch]) == TEXT
    dupes = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + _insert_abcd(ENOCH_SIG)
    assert open_note(dupes, [peter]) == TEXT


def test_note_without_known_signature_is_rejected() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(note, [])
    misnamed = TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(misnamed, [parse_verifier_key(PETER_VKEY)])
    wrong_id = TEXT + "\n" + PETER_SIG.replace("x08g", "xxxx")
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(wrong_id, [parse_verifier_key(PETER_VKEY)])


def test_bad_signature_by_known_key_is_rejected() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    with pytest.raises(NoteError, match=r"invalid signature for key PeterNeumann\+c74f20a3"):
        open_note(TEXT + "\n" + _insert_abcd(PETER_SIG), [peter])
    # A good signature does not excuse a bad one by the same key.
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(TEXT + "\n" + PETER_SIG + _insert_abcd(PETER_SIG), [peter])
    tampered = TEXT.replace("cryptography", "blockchain") + "\n" + PETER_SIG
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(tampered, [peter])


def test_too_many_signatures() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    assert open_note(TEXT + "\n" + PETER_SIG * 100, [peter]) == TEXT
    with pytest.raises(NoteError, match="more than 100 signatures"):
        open_note(TEXT + "\n" + PETER_SIG * 101, [peter])
    with pytest.raises(NoteError, match="more than 100 signatures"):
        open_note(TEXT + "\n" + PETER_SIG * 101, [])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
        "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + "— PeterNeumann\n",
        TEXT + "\n" + "— PeterNeumann \n",
        TEXT + "\n" + "— PeterNeumann AAAA\n",
        TEXT + "\n" + "— Peter+Neumann " + PETER_SIG.split(" ")[2],
        TEXT + "\n" + "— PeterNeumann " + PETER_SIG.split(" ")[2].replace("=", ""),
        TEXT + "\r\n" + PETER_SIG,
        "\ud800" + TEXT + "\n" + PETER_SIG,
    ],
)
def test_malformed_notes_are_rejected(note: str | bytes) -> None:
    with pytest.raises(NoteError, match=r"malformed|key name"):
        open_note(note, [parse_verifier_key(PETER_VKEY)])


def test_verifier_key_manglings_are_rejected() -> None:
    """Every proper substring and every one-character change must fail, as in Go's test."""
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i, c in enumerate(PETER_VKEY):
        with pytest.raises(NoteError):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(c) + 1) + PETER_VKEY[i + 1 :])
    wrong_length = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
    unknown_alg = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    for key in (wrong_length, unknown_alg, ""):
        with pytest.raises(NoteError):
            parse_verifier_key(key)


def test_signer_key_manglings_are_rejected() -> None:
    for i in range(len(PETER_SKEY) + 1):
        for j in range(i + 1, len(PETER_SKEY) + 1):
            if (i, j) != (0, len(PETER_SKEY)):
                with pytest.raises(NoteError):
                    parse_signer_key(PETER_SKEY[i:j])
    for i, c in enumerate(PETER_SKEY):
        with pytest.raises(NoteError):
            parse_signer_key(PETER_SKEY[:i] + chr(ord(c) + 1) + PETER_SKEY[i + 1 :])


def test_key_errors_explain_themselves() -> None:
    with pytest.raises(NoteError, match="does not match"):
        parse_verifier_key("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(NoteError, match="unsupported verifier key algorithm 0x04"):
        parse_verifier_key("x+00000000+" + base64.b64encode(b"\x04" + b"\x00" * 32).decode())
    with pytest.raises(NoteError, match="8 hex digits"):
        parse_verifier_key("PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(NoteError, match="expected PRIVATE"):
        parse_signer_key(PETER_VKEY)


def test_generated_keys_round_trip() -> None:
    skey = generate_signer_key("trailkeeper.example/log")
    signer = parse_signer_key(skey)
    vkey = verifier_key_from_signer_key(skey)
    verifier = parse_verifier_key(vkey)
    assert vkey.startswith(f"trailkeeper.example/log+{signer.key_id:08x}+")
    assert signer.verifier().key_string == vkey
    note = sign_note("hello\nworld\n", signer)
    assert open_note(note, [verifier]) == "hello\nworld\n"
    assert verifier.verify(b"hi", signer.sign(b"hi"))
    assert not verifier.verify(b"hi", signer.sign(b"ho"))
    assert not verifier.verify(b"hi", b"short")


def test_unknown_and_cosigned_notes() -> None:
    log, witness, stranger = (Signer.generate(n) for n in ("log", "witness", "stranger"))
    text = "origin\n42\n\nblank lines are allowed in the text\n"
    note = sign_note(text, log, witness)
    assert open_note(note, [log.verifier()]) == text
    assert open_note(note, [witness.verifier()]) == text
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(note, [stranger.verifier()])
    # Same name as a known key, different key: ignored as unknown, per C2SP.
    impostor = Signer.generate("log")
    assert open_note(sign_note(text, impostor, log), [log.verifier()]) == text
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(sign_note(text, impostor), [log.verifier()])


def test_ambiguous_verifiers_are_refused() -> None:
    class Colliding(Verifier):
        @property
        def key_id(self) -> int:
            return 1

    a = Colliding("log", Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    b = Colliding("log", Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    with pytest.raises(NoteError, match="ambiguous key"):
        open_note(TEXT + "\n" + PETER_SIG, [a, b])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no newline", "must end with a newline"),
        ("", "must end with a newline"),
        ("tab\there\n", "control characters"),
        ("cr\r\n", "control characters"),
    ],
)
def test_sign_note_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, parse_signer_key(PETER_SKEY))


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\tname", "nb\u00a0sp", "nl\n"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(NoteError, match="key name"):
        Signer.generate(name)
    with pytest.raises(NoteError, match="key name"):
        Verifier(name, b"\x00" * 32)


def test_verifier_rejects_wrong_key_size() -> None:
    with pytest.raises(NoteError, match="32 bytes"):
        Verifier("log", b"\x00" * 31)
