"""Where the emulator may send actors' webhooks by default: loopback only, decided
without a name lookup (a lookup can itself reach a DNS server elsewhere), so a test
suite never sends traffic off the machine unless it allowed it
(`allow_remote_webhooks=True`). tests/api/test_events.py checks the refusal end to end.
"""
from __future__ import annotations

import pytest

from abaco_emulator.events import loopback_url


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8000/hook", True),
    ("https://127.3.4.5/hook", True),
    ("http://[::1]:8000/", True),
    ("http://localhost:5000/", True),
    ("http://192.0.2.1/", False),
    ("http://10.0.0.1/", False),
    ("http://127.0.0.1.example.com/", False),
    ("http://localhost.example.com/", False),
    ("ftp://127.0.0.1/", False),
    ("http://[::1/", False),
    ("not a url", False),
    # A name under .localhost is looked up by the system's resolver like any other (here:
    # DNS), so the POST could go anywhere: only what needs no lookup is loopback for sure.
    ("http://probe.localhost/", False),
])
def test_only_loopback_webhooks_are_sent_by_default(url, loopback):
    assert loopback_url(url) is loopback
