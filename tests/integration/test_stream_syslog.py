"""Syslog streams into a real rsyslog (Debian's), on SQLite and PostgreSQL: an
rsyslogd of our own listens with imtcp on a free loopback port and writes what it
parsed (RFC 5424 fields) to a file. Every event arrives once, in seq order, as
native JSON or as CEF; a restart of rsyslog in the middle loses nothing. Over TLS
(RFC 5425), rsyslog's GnuTLS driver (``rsyslog-gnutls``) serves a certificate from a
test CA made here: a stream that trusts the CA delivers, one that does not is
``failing`` and sends nothing."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from streaming import (
    assert_complete_in_order,
    create_stream,
    supervising,
    wait_stream,
    wait_until,
)
from support import Api, delete_streams, free_port, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.streams.supervisor import StreamSupervisor

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
CONFIG = """
global(workDirectory="{work}" maxMessageSize="64k"{tls_global})
module(load="imtcp"{tls_module})
template(name="fields" type="string"
         string="%pri%\\t%hostname%\\t%app-name%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="audit") {{ action(type="omfile" file="{out}" template="fields") }}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="audit")
"""
TLS_GLOBAL = (
    ' defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{ca}"'
    ' defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}"'
)
TLS_MODULE = ' streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"'


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for 127.0.0.1 (and localhost), as PEM
    files: the CA's certificate, the server's certificate and the server's key."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("trailkeeper test CA"))
        .issuer_name(_name("trailkeeper test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class Rsyslog:
    def __init__(self, directory: Path, tls: tuple[Path, Path, Path] | None = None) -> None:
        self.port = free_port()
        self.out = directory / "received.log"
        self.conf = directory / "rsyslog.conf"
        work = directory / "work"
        work.mkdir()
        tls_global = "" if tls is None else TLS_GLOBAL.format(ca=tls[0], cert=tls[1], key=tls[2])
        self.conf.write_text(
            CONFIG.format(
                work=work, out=self.out, port=self.port, tls_global=tls_global,
                tls_module="" if tls is None else TLS_MODULE,
            )
        )  # fmt: skip
        self.pidfile = directory / "rsyslogd.pid"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.pidfile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        import socket

        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    assert self.process.stderr is not None
                    pytest.fail(f"rsyslogd did not start: {self.process.stderr.read().decode()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None

    def lines(self) -> list[list[str]]:
        if not self.out.exists():
            return []
        text = self.out.read_text("utf-8")
        return [line.split("\t", 5) for line in text.splitlines() if line]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_destinations": True, "outbound_timeout": 2.0})


@pytest.fixture(autouse=True)
def _own_streams_only(service: Trailkeeper, api: Api) -> Iterator[None]:
    yield
    delete_streams(service, api)


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    server = Rsyslog(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def streaming(service: Trailkeeper) -> Iterator[StreamSupervisor]:
    with supervising(service) as supervisor:
        yield supervisor


def syslog_config(server: Rsyslog) -> dict[str, object]:
    return {"host": "127.0.0.1", "port": server.port, "protocol": "tcp"}


def test_native_events_reach_rsyslog_in_order(
    api: Api, rsyslog: Rsyslog, streaming: StreamSupervisor
) -> None:
    tricky = {"note": 'quotes " and ] and \\ and\nnewline', "ü": "ünïcödé"}
    receipts = api.ingest(*[make_event(i, metadata=tricky) for i in range(150)])
    create_stream(api, "syslog", syslog_config(rsyslog), filters={"action": "card.moved"})
    lines = wait_until(lambda: len(rsyslog.lines()) >= 150 and rsyslog.lines(), timeout=120)
    pri, host, app, msgid, structured, message = lines[0]
    assert (pri, app, msgid) == ("110", "trailkeeper", "card.moved")
    assert host
    assert structured.startswith('[trailkeeper@32473 id="evt-0" seq="')
    event = json.loads(message.lstrip("\ufeff"))
    assert event["metadata"] == tricky
    seqs = [json.loads(line[5].lstrip("\ufeff"))["seq"] for line in lines]
    assert_complete_in_order(seqs, [r["seq"] for r in receipts])
    assert len(seqs) == 150


def test_cef_lines_and_a_restart_of_rsyslog(
    api: Api, rsyslog: Rsyslog, streaming: StreamSupervisor
) -> None:
    first = api.ingest(*[make_event(i, metadata={"k": "a=b|c\\d"}) for i in range(50)])
    create_stream(
        api, "syslog", syslog_config(rsyslog), format="cef", filters={"action": "card.moved"}
    )
    wait_until(lambda: len(rsyslog.lines()) >= 50, timeout=120)
    rsyslog.stop()
    during = api.ingest(*[make_event(100 + i) for i in range(50)])
    time.sleep(0.5)  # the stream finds the receiver gone and backs off
    rsyslog.start()
    after = api.ingest(*[make_event(200 + i) for i in range(50)])
    lines = wait_until(lambda: len(rsyslog.lines()) >= 150 and rsyslog.lines(), timeout=180)
    messages = [line[5] for line in lines]
    assert messages[0].startswith("CEF:0|trailkeeper|trailkeeper|")
    assert "|card.moved|card.moved|3|" in messages[0]
    assert 'cs6={"k":"a\\=b|c\\\\\\\\d"}' in messages[0]
    seqs = [int(m.split("cn1=")[1].split(" ")[0]) for m in messages]
    assert_complete_in_order(seqs, [r["seq"] for r in first + during + after])


@pytest.fixture
def test_ca(tmp_path: Path) -> tuple[Path, Path, Path]:
    return make_test_ca(tmp_path)


@pytest.fixture
def rsyslog_tls(tmp_path: Path, test_ca: tuple[Path, Path, Path]) -> Iterator[Rsyslog]:
    directory = tmp_path / "tls"
    directory.mkdir()
    server = Rsyslog(directory, tls=test_ca)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_native_events_reach_rsyslog_over_tls(
    api: Api,
    rsyslog_tls: Rsyslog,
    test_ca: tuple[Path, Path, Path],
    streaming: StreamSupervisor,
) -> None:
    receipts = api.ingest(*[make_event(i, metadata={"over": "tls"}) for i in range(120)])
    config = {**syslog_config(rsyslog_tls), "protocol": "tls", "ca_file": str(test_ca[0])}
    stream = create_stream(api, "syslog", config, filters={"action": "card.moved"})
    lines = wait_until(lambda: len(rsyslog_tls.lines()) >= 120 and rsyslog_tls.lines(), timeout=120)
    pri, _, app, msgid, structured, message = lines[0]
    assert (pri, app, msgid) == ("110", "trailkeeper", "card.moved")
    assert structured.startswith('[trailkeeper@32473 id="evt-0" seq="')
    assert json.loads(message.lstrip("\ufeff"))["metadata"] == {"over": "tls"}
    seqs = [json.loads(line[5].lstrip("\ufeff"))["seq"] for line in lines]
    assert_complete_in_order(seqs, [r["seq"] for r in receipts])
    state = wait_stream(api, stream["id"], lambda s: s["delivered"] >= 120)
    assert (state["status"], state["delivered"], state["last_error"]) == ("active", 120, None)


def test_a_tls_receiver_whose_certificate_is_not_trusted_gets_nothing(
    api: Api, rsyslog_tls: Rsyslog, streaming: StreamSupervisor
) -> None:
    api.ingest(*[make_event(i) for i in range(20)])
    config = {**syslog_config(rsyslog_tls), "protocol": "tls"}  # the system's CAs only
    stream = create_stream(api, "syslog", config, filters={"action": "card.moved"})
    state = wait_stream(api, stream["id"], lambda s: s["status"] == "failing", timeout=60)
    assert state["status"] == "failing", state
    assert "TLS certificate not trusted" in state["last_error"]
    assert (state["delivered"], rsyslog_tls.lines()) == (0, [])


def test_a_ca_file_that_cannot_be_used_is_failing(
    api: Api, rsyslog_tls: Rsyslog, tmp_path: Path, streaming: StreamSupervisor
) -> None:
    api.ingest(*[make_event(i) for i in range(3)])
    missing = tmp_path / "no-such-ca.pem"
    config = {**syslog_config(rsyslog_tls), "protocol": "tls", "ca_file": str(missing)}
    stream = create_stream(api, "syslog", config, filters={"action": "card.moved"})
    state = wait_stream(api, stream["id"], lambda s: s["status"] == "failing", timeout=60)
    assert state["status"] == "failing", state
    assert state["last_error"].endswith(
        f"ca_file {str(missing)!r} cannot be used: No such file or directory"
    )
    assert (state["delivered"], rsyslog_tls.lines()) == (0, [])
