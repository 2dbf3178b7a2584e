"""Syslog streams into a real rsyslog (Debian's), on SQLite and PostgreSQL: an
rsyslogd of our own listens with imtcp on a free loopback port and writes what it
parsed (RFC 5424 fields) to a file. Every event arrives once, in seq order, as
native JSON or as CEF; a restart of rsyslog in the middle loses nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming import assert_complete_in_order, create_stream, supervising, wait_until
from support import Api, delete_streams, free_port, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.streams.supervisor import StreamSupervisor

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
CONFIG = """
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imtcp")
template(name="fields" type="string"
         string="%pri%\\t%hostname%\\t%app-name%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="audit") {{ action(type="omfile" file="{out}" template="fields") }}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="audit")
"""


class Rsyslog:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.out = directory / "received.log"
        self.conf = directory / "rsyslog.conf"
        work = directory / "work"
        work.mkdir()
        self.conf.write_text(CONFIG.format(work=work, out=self.out, port=self.port))
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
