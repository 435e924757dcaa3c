"""The API behaviour tests run through every transport: `ag` is parametrised over them.

`@pytest.mark.emulator(log_ex=60, ...)` gives `ag`'s emulator more keyword options
(those of `AbacoEmulator`, which `serve` passes on), whichever the transport.

`@pytest.mark.transports("in-process", reason=...)` limits a test to the transports it
names; it is skipped, with the reason, for the others. See tests/README.md.
"""
from __future__ import annotations

import pytest

from abaco_emulator import AbacoEmulator

from api_transports import AGAVEPY, IN_PROCESS, TAPIS_V3, TRANSPORTS, AgavepyClients, AgavepyTransport, TapisV3Transport


def pytest_configure(config):
    config.addinivalue_line("markers", "emulator(**options): keyword options of the emulator behind `ag`")


@pytest.fixture(scope="session")
def agavepy_clients():
    """The agavepy clients and the server port shared by the tests of a session."""
    pytest.importorskip("agavepy")
    return AgavepyClients()


@pytest.fixture(params=TRANSPORTS)
def ag(request):
    """A fresh emulator with the local runner, acting as `testuser`, through one transport."""
    marker = request.node.get_closest_marker("transports")
    if marker is not None and (not marker.args or set(marker.args) - set(TRANSPORTS)):
        raise pytest.UsageError(f"@pytest.mark.transports{marker.args}: name some of {TRANSPORTS}")
    if marker is not None and request.param not in marker.args:
        reason = marker.kwargs.get("reason", "")
        pytest.skip(f"runs through {', '.join(marker.args)} only" + (f": {reason}" if reason else ""))
    options_marker = request.node.get_closest_marker("emulator")
    options = dict(options_marker.kwargs) if options_marker is not None else {}
    if request.param == IN_PROCESS:
        with AbacoEmulator(runner="local", **options) as emulator:
            yield emulator
            emulator.raise_background_errors()
    elif request.param == AGAVEPY:
        transport = AgavepyTransport.start(request.getfixturevalue("agavepy_clients"), **options)
        try:
            yield transport
        finally:
            transport.close()
    elif request.param == TAPIS_V3:
        transport = TapisV3Transport.start(AgavepyClients(), **options)
        try:
            yield transport
        finally:
            transport.close()
    else:
        raise AssertionError(f"unknown transport {request.param!r}")
