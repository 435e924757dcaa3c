"""Who makes a request: callers, the tokens the emulator accepts, and the readers of credentials.

Below the service and the engine: the service authorizes `Caller`s, the engine issues
each execution a token of its actor's owner (`TokenRegistry.issue_execution_token`),
and the transports turn what a request carries (a bearer token, Abaco's gateway JWT
in `X-Jwt-Assertion-<TENANT>`, a `?x-nonce=`) into a `Caller` with `identify`.
JWTs are decoded without verifying their signature: the emulator is for testing, and
Abaco's own test suite signs its JWTs with keys nobody else has.
"""
from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import Unauthorized
from .models import ADMIN_ROLE, PRIVILEGED_ROLE

DEFAULT_TENANT = "DEV-DEVELOP"
JWT_HEADER_PREFIX = "x-jwt-assertion-"
ENDUSER_CLAIM = "http://wso2.org/claims/enduser"
ROLE_CLAIM = "http://wso2.org/claims/role"
ROLE_PREFIX = "Internal/abaco-"
LIMITED_ROLE = "Internal/abaco-limited"
# Abaco refuses a caller holding none of its roles ("missing required role"); a JWT
# without roles counts as Internal/everyone, the user role of Abaco's local-dev.conf.
EVERYONE_ROLE = "Internal/everyone"
ABACO_ROLES = frozenset({ADMIN_ROLE, PRIVILEGED_ROLE, "Internal/abaco-user", LIMITED_ROLE, EVERYONE_ROLE})
EXECUTION_TOKEN_PREFIX = "abaco-actor-"


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a user with roles, or the bearer of a nonce."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant: str = DEFAULT_TENANT
    nonce: str | None = None
    jwt_header: str | None = None  # the gateway JWT's header as received, for `_abaco_jwt_header_name`

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    @property
    def is_privileged(self) -> bool:
        return self.is_admin or PRIVILEGED_ROLE in self.roles

    @property
    def has_abaco_role(self) -> bool:
        return not self.roles or not self.roles.isdisjoint(ABACO_ROLES)


class TokenRegistry:
    """The bearer tokens an emulator accepts: configured ones, and the short-lived token
    of each running execution (its actor owner's rights, revoked when it ends)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Caller] = {}
        self._lock = threading.Lock()

    def add(self, token: str, caller: Caller) -> None:
        with self._lock:
            self._tokens[token] = caller

    def caller_for(self, token: str) -> Caller | None:
        with self._lock:
            return self._tokens.get(token)

    @property
    def has_user_tokens(self) -> bool:
        """Whether tokens were configured (execution tokens do not close an open server)."""
        with self._lock:
            return any(not t.startswith(EXECUTION_TOKEN_PREFIX) for t in self._tokens)

    def issue_execution_token(self, owner: str, tenant: str) -> str:
        """A token the server accepts for `owner` alone: what an actor container gets."""
        token = EXECUTION_TOKEN_PREFIX + secrets.token_urlsafe(24)
        self.add(token, Caller(owner, tenant=tenant))
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)


def expand_role(role: str) -> str:
    """A role without a "/" is short for Abaco's `Internal/abaco-<role>` (`admin`)."""
    role = role.strip()
    return role if "/" in role else ROLE_PREFIX + role


def parse_user_spec(spec: str, tenant: str) -> Caller:
    """`"alice"` or `"alice:admin,privileged"` as a Caller."""
    user, _, roles = spec.partition(":")
    if not user.strip():
        raise ValueError(f"invalid user {spec!r}: expected USER or USER:ROLE,ROLE")
    return Caller(user.strip(), frozenset(expand_role(r) for r in roles.split(",") if r.strip()), tenant)


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying its signature."""
    parts = token.strip().split(".")
    if len(parts) < 2:
        raise ValueError("it is not a JWT (expected header.payload.signature)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError("its payload is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("its payload is not a JSON object")
    return claims


def caller_from_jwt(header_name: str, token: str) -> Caller:
    """The user and roles of Abaco's gateway JWT; the tenant is the header name's suffix,
    upper-cased (`X-Jwt-Assertion-Dev-Staging` is tenant DEV-STAGING)."""
    tenant = header_name[len(JWT_HEADER_PREFIX):].upper() or DEFAULT_TENANT
    try:
        claims = decode_jwt_claims(token)
    except ValueError as exc:
        raise Unauthorized(f"Invalid JWT in header {header_name}: {exc}.") from None
    enduser = claims.get(ENDUSER_CLAIM)
    if not isinstance(enduser, str) or not enduser.split("@")[0].strip():
        raise Unauthorized(f"Invalid JWT in header {header_name}: claim {ENDUSER_CLAIM} "
                           "(the user name) is missing.")
    roles = claims.get(ROLE_CLAIM) or ""
    if isinstance(roles, list):
        roles = ",".join(str(r) for r in roles)
    if not isinstance(roles, str):
        raise Unauthorized(f"Invalid JWT in header {header_name}: claim {ROLE_CLAIM} must be a "
                           "comma separated string.")
    return Caller(enduser.split("@")[0].strip(),
                  frozenset(r.strip() for r in roles.split(",") if r.strip()), tenant, jwt_header=header_name)


def identify_callback(headers: Iterable[tuple[str, str]], query: Mapping[str, str], tokens: TokenRegistry,
                      default: Caller) -> Caller:
    """Who calls the private API of an emulator that is not served: an execution's token
    (or a nonce), nothing else. No default user and no unverified JWT, since any process
    on the machine can reach a loopback port."""
    if query.get("x-nonce") is None:
        authorization = next((value for name, value in headers if name.lower() == "authorization"), "")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or tokens.caller_for(token.strip()) is None:
            raise Unauthorized("This emulator is not served: only its executions may call it, with their "
                               "_abaco_access_token.")
        return tokens.caller_for(token.strip()) or default
    return identify((), query, tokens, default)


def identify(headers: Iterable[tuple[str, str]], query: Mapping[str, str], tokens: TokenRegistry,
             default: Caller) -> Caller:
    """Who makes a request, from its headers and query parameters.

    A nonce (`?x-nonce=`) is used instead of any other credential, as in Abaco. Then a
    bearer token, then a gateway JWT. Without credentials the request acts as
    `default` while no tokens are configured, and is refused once some are. While no
    tokens are configured (open mode) an unknown bearer token also acts as `default`,
    so that `Agave(api_server=url, token="anything")` works against an open server.
    """
    nonce = query.get("x-nonce")
    if nonce is not None:
        if not nonce.strip():
            raise Unauthorized("Invalid x-nonce: the nonce id is empty.")
        # The nonce's own tenant is the part of its id before the last "_" (the service reads it).
        return Caller(username="", tenant=default.tenant, nonce=nonce.strip())
    items = list(headers)
    authorization = next((value for name, value in items if name.lower() == "authorization"), None)
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Invalid Authorization header: use 'Authorization: Bearer <token>'.")
        caller = tokens.caller_for(token.strip())
        if caller is not None:
            return caller
        if not tokens.has_user_tokens:
            return default
        raise Unauthorized("Invalid or expired access token in the Authorization header.")
    for name, value in items:
        if name.lower().startswith(JWT_HEADER_PREFIX):
            return caller_from_jwt(name, value)
    if not tokens.has_user_tokens:
        return default
    raise Unauthorized("No credentials: send 'Authorization: Bearer <token>', an X-Jwt-Assertion-<TENANT> "
                       "header, or ?x-nonce=<nonce id>.")
