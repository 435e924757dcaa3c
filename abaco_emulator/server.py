"""`serve(...)`: the HTTP emulator in a background thread, for tests and scripts.

    with serve(runner="local") as server:
        requests.get(server.url + "/actors/v2", headers={"Authorization": f"Bearer {server.token}"})

Users: `tokens` maps bearer tokens to users ("name" or "name:role,role") or `Caller`s.
Without tokens the server is open: requests without credentials, and with a bearer
token it does not know, act as the emulator's default user. With tokens, every request
needs a known token, a gateway JWT or a nonce. `.token` is a token for the default user
that the server accepts in both modes.

The server binds loopback only, unless `allow_remote=True`: the emulator runs code
and has no real authentication, so it must not be reachable from other machines by
accident.
"""
from __future__ import annotations

import logging
import secrets
import warnings
from typing import Any, Iterable, Mapping

from .auth import Caller, parse_user_spec
from .emulator import AbacoEmulator
from .http_app import DEFAULT_MAX_BODY_BYTES, DEFAULT_SYNC_TIMEOUT
from .http_server import EmulatorServer, is_loopback

__all__ = ["EmulatorServer", "serve", "user_tokens"]

log = logging.getLogger(__name__)


def serve(*, host: str = "127.0.0.1", port: int = 0, tokens: Mapping[str, str | Caller] | None = None,
          allow_remote: bool = False, emulator: AbacoEmulator | None = None,
          max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES, sync_timeout: float = DEFAULT_SYNC_TIMEOUT,
          **options: Any) -> EmulatorServer:
    """Serve an emulator over HTTP in a background thread; `port=0` picks a free port.

    `options` are the keyword options of `AbacoEmulator` (runner, db_path, user, ...);
    or pass an existing `emulator` to serve it (it is then left open by `close()`).
    """
    if not is_loopback(host):
        if not allow_remote:
            raise ValueError(f"refusing to bind {host!r}: abaco-emulator serves loopback only; pass "
                             "allow_remote=True (--allow-remote) to accept other machines")
        warnings.warn(f"abaco-emulator is listening on {host}: other machines can reach it and run "
                      "actors; its authentication is for testing only", RuntimeWarning, stacklevel=2)
        log.warning("serving on non-loopback host %s", host)
    owns = emulator is None
    if emulator is None:
        emulator = AbacoEmulator(**options)
    elif options:
        raise TypeError(f"serve() got emulator= and emulator options {sorted(options)}")
    try:
        token = _configure_tokens(emulator, tokens or {})
        return EmulatorServer(emulator, host=host, port=port, token=token, owns_emulator=owns,
                              max_body_bytes=max_body_bytes, sync_timeout=sync_timeout,
                              set_api_server=not options.get("api_server"))
    except BaseException:
        if owns:
            emulator.close()
        raise


def _configure_tokens(emulator: AbacoEmulator, tokens: Mapping[str, str | Caller]) -> str:
    """Register `tokens`; the token for the default user the server will accept."""
    registry = emulator.tokens
    tenant = emulator.service.options.tenant
    default = Caller(emulator.user, frozenset(emulator.roles), tenant)
    for token, who in tokens.items():
        if not isinstance(token, str) or not token.strip():
            raise ValueError("tokens must be non-empty strings")
        caller = who if isinstance(who, Caller) else parse_user_spec(str(who), tenant)
        registry.add(token, caller)
    for token, who in tokens.items():
        if registry.caller_for(token) == default:
            return token
    token = "abaco-emulator-" + secrets.token_urlsafe(24)
    if tokens:
        registry.add(token, default)
    # Without tokens the server is open and accepts any bearer token as the default
    # user; registering this one would close it.
    return token


def user_tokens(specs: Iterable[str]) -> dict[str, str]:
    """`TOKEN=USER[:ROLE,...]` strings (the CLI's --token) as a `tokens` mapping."""
    out: dict[str, str] = {}
    for spec in specs:
        token, sep, user = spec.partition("=")
        if not sep or not token.strip() or not user.strip():
            raise ValueError("invalid --token: expected TOKEN=USER[:ROLE,...]")
        out[token.strip()] = user.strip()
    return out
