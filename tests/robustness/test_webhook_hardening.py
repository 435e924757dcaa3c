"""Webhooks cannot be turned against the host or the emulator: a hanging receiver delays
only other webhooks and nothing leaves loopback (that redirects are not followed is in
tests/api/test_events.py)."""
from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from abaco_emulator import AbacoEmulator, events

from abaco_checks import WebhookReceiver


@pytest.fixture
def emulator():
    ag = AbacoEmulator(runner="local")
    ag.register_image("noop:1", lambda context: None)
    yield ag
    ag.close()


def test_a_hanging_webhook_blocks_neither_executions_nor_links(emulator, monkeypatch):
    monkeypatch.setattr(events, "WEBHOOK_TIMEOUT", 2.0)
    hanging = WebhookReceiver()
    release = hanging.hold = threading.Event()
    try:
        sink = emulator.actors.add(body={"image": "noop:1"})
        source = emulator.actors.add(body={"image": "noop:1", "link": sink.id, "webhook": hanging.url})
        begin = time.monotonic()
        for number in range(5):
            sent = emulator.actors.sendMessage(actorId=source.id, body={"message": str(number)})
            assert emulator.wait_for_execution(source.id, sent.executionId, timeout=10).status == "COMPLETE"
        emulator.drain(timeout=10)
        assert time.monotonic() - begin < 2.0, "executions waited for the webhook"
        told = emulator.actors.listExecutions(actorId=sink.id).executions
        assert len(told) == 6  # ACTOR_READY, then one EXECUTION_COMPLETE per message
    finally:
        release.set()
        hanging.close()


@pytest.mark.parametrize("url", ["http://192.0.2.1/hook", "http://example.invalid/hook", "ftp://127.0.0.1/x",
                                 "file:///etc/passwd", "http://[::ffff:10.0.0.1]/x", "not a url"])
def test_a_webhook_off_loopback_is_never_sent(emulator, caplog, monkeypatch, url):
    opened: list[object] = []
    real_connect = socket.socket.connect

    def watched_connect(sock, address):
        opened.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", watched_connect)
    with caplog.at_level(logging.WARNING, logger="abaco_emulator.events"):
        emulator.actors.add(body={"image": "noop:1", "webhook": url})
        deadline = time.monotonic() + 10
        while not any("not a loopback address" in r.message for r in caplog.records):
            assert time.monotonic() < deadline, "no warning that the webhook was not sent"
            time.sleep(0.02)
    assert not [a for a in opened if isinstance(a, tuple) and a and a[0] not in ("127.0.0.1", "::1", "localhost")]


def test_loopback_urls_are_told_apart_without_a_name_lookup():
    assert events.loopback_url("http://127.0.0.1:8080/x")
    assert events.loopback_url("https://[::1]/x")
    assert events.loopback_url("http://localhost/x")
    assert not events.loopback_url("http://127.0.0.1.nip.io/x")
    assert not events.loopback_url("http://10.0.0.1/x")
    assert not events.loopback_url("gopher://127.0.0.1/x")
