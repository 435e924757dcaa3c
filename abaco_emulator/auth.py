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
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import BadRequest, Unauthorized
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
EXECUTION_TOKEN_TTL = 7 * 24 * 3600  # its `exp` claim (tapipy needs one); it is revoked when the execution ends


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a user with roles, or the bearer of a nonce."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant: str = DEFAULT_TENANT
    nonce: str | None = None
    jwt_header: str | None = None  # the gateway JWT's header as received, for `_abaco_jwt_header_name`
    # Abaco v2 refuses a user holding none of its roles; v3 (Tapis) has no base role:
    # any authenticated user is a regular user there.
    needs_base_role: bool = True

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    @property
    def is_privileged(self) -> bool:
        return self.is_admin or PRIVILEGED_ROLE in self.roles

    @property
    def has_abaco_role(self) -> bool:
        return not self.needs_base_role or not self.roles or not self.roles.isdisjoint(ABACO_ROLES)


class TokenRegistry:
    """The bearer tokens an emulator accepts: configured ones, and the short-lived token
    of each running execution (its actor owner's rights, revoked when it ends)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Caller] = {}
        self._executions: set[str] = set()
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
            return any(t not in self._executions for t in self._tokens)

    def issue_execution_token(self, owner: str, tenant: str) -> str:
        """A token the server accepts for `owner` alone: what an actor container gets.

        It is shaped as a Tapis JWT (with `exp`), so tapipy inside a container can
        use it as its `access_token`, as agavepy uses it as a bearer token; its last
        part is `abaco-actor-<secret>`, the random part that makes it this execution's.
        """
        token = _unsigned_jwt(_tapis_claims_for(owner, tenant, EXECUTION_TOKEN_TTL),
                              EXECUTION_TOKEN_PREFIX + secrets.token_urlsafe(24))
        with self._lock:
            self._executions.add(token)
            self._tokens[token] = Caller(owner, tenant=tenant)
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)
            self._executions.discard(token)


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
    if query.get("x-nonce") is not None:
        return identify((), query, tokens, default)
    for name, value in headers:
        if name.lower() == "authorization":  # agavepy's way
            scheme, _, token = value.strip().partition(" ")
            caller = tokens.caller_for(token.strip()) if scheme.lower() == "bearer" else None
        elif name.lower() == "x-tapis-token":  # tapipy's way
            caller = tokens.caller_for(value.strip())
        else:
            continue
        if caller is not None:
            return caller
    raise Unauthorized("This emulator is not served: only its executions may call it, with their "
                       "_abaco_access_token.")


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


# -- Tapis v3 -------------------------------------------------------------------------

TAPIS_TOKEN_HEADER = "x-tapis-token"
DEFAULT_TAPIS_TENANT = "dev"
# Roles a token from `tapis_token` carries: Tapis tokens have none (roles live in the
# Security Kernel), so this claim is the emulator's own.
TAPIS_ROLES_CLAIM = "abaco_emulator/roles"
TAPIS_TOKEN_TTL = 4 * 3600
# The Security Kernel's names of Abaco's roles, and the v2 names the service checks.
_V3_ROLES = {"abaco_admin": ADMIN_ROLE, "abaco_privileged": PRIVILEGED_ROLE, "abaco_limited": LIMITED_ROLE}
_V2_TO_V3_ROLES = {v2: v3 for v3, v2 in _V3_ROLES.items()}
_UNSIGNED = base64.urlsafe_b64encode(b"abaco-emulator: not signed").rstrip(b"=").decode("ascii")


def internal_role(role: str) -> str:
    """A role as the service checks it, from either dialect's name: `abaco_admin` (v3),
    `Internal/abaco-admin` (v2) and the short `admin` are one role."""
    role = role.strip()
    return _V3_ROLES.get(role, role if ("/" in role or "_" in role) else ROLE_PREFIX + role)


def v3_role_names(roles: Iterable[str]) -> list[str]:
    """Roles under the Security Kernel's names (those without one keep theirs)."""
    return [_V2_TO_V3_ROLES.get(role, role) for role in roles]


def parse_user_roles(spec: str) -> tuple[str, frozenset[str]]:
    """`USER=ROLE[,ROLE...]` (the CLI's --user-role) as a user and their roles."""
    user, sep, roles = spec.partition("=")
    names = [r for r in roles.split(",") if r.strip()]
    if not sep or not user.strip() or not names:
        raise ValueError(f"invalid --user-role {spec!r}: expected USER=ROLE[,ROLE...]")
    return user.strip(), frozenset(internal_role(r) for r in names)


def with_user_roles(caller: Caller, user_roles: Mapping[str, frozenset[str]]) -> Caller:
    """`caller` holding also the roles configured for its user (whatever credential named it)."""
    extra = user_roles.get(caller.username)
    if not extra or extra <= caller.roles:
        return caller
    return Caller(caller.username, caller.roles | extra, caller.tenant, caller.nonce, caller.jwt_header,
                  caller.needs_base_role)


def _b64url_json(value: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode("utf-8")).rstrip(b"=").decode()


def tapis_token(username: str, tenant: str = DEFAULT_TAPIS_TENANT, roles: Iterable[str] = (), *,
                ttl: int = TAPIS_TOKEN_TTL, account_type: str = "user") -> str:
    """A Tapis v3 access token (a JWT, not signed) for `username` of `tenant`.

    tapipy reads its claims without verifying it and needs `exp`; the emulator reads
    `tapis/username`, `tapis/tenant_id`, `tapis/account_type` and the roles given here
    (the real service asks its Security Kernel instead).
    """
    if not isinstance(username, str) or not username.strip():
        raise ValueError("tapis_token needs a user name")
    claims = _tapis_claims_for(username, tenant, ttl, account_type)
    role_names = sorted(set(v3_role_names(internal_role(r) for r in roles)))
    if role_names:
        claims[TAPIS_ROLES_CLAIM] = role_names
    return _unsigned_jwt(claims, _UNSIGNED)


def _unsigned_jwt(claims: Mapping[str, Any], signature: str) -> str:
    return ".".join((_b64url_json({"typ": "JWT", "alg": "RS256"}), _b64url_json(claims), signature))


def _tapis_claims_for(username: str, tenant: str, ttl: int, account_type: str = "user") -> dict[str, Any]:
    """The claims of a Tapis access token, as the Tokens service writes them."""
    now = int(time.time())
    return {
        "jti": secrets.token_hex(16),
        "iss": f"abaco-emulator/{tenant}/v3/tokens",
        "sub": f"{username}@{tenant}",
        "tapis/tenant_id": tenant,
        "tapis/token_type": "access",
        "tapis/delegation": False,
        "tapis/delegation_sub": None,
        "tapis/username": username,
        "tapis/account_type": account_type,
        "iat": now,
        "exp": now + ttl,
    }


def _tapis_claims(token: str) -> dict[str, Any]:
    """The claims of a Tapis token, with the service's error for each way it is unreadable."""
    try:
        claims = decode_jwt_claims(token)
    except ValueError:
        raise BadRequest("Could not parse the Tapis access token.") from None
    tenant = claims.get("tapis/tenant_id")
    if not isinstance(tenant, str) or not tenant.strip():
        raise BadRequest("Unable to process Tapis token; could not parse the tenant_id. It is possible the token "
                         "is in a format no longer supported by the platform.")
    username = claims.get("tapis/username")
    if not isinstance(username, str) or not username.strip():
        raise BadRequest("Invalid Tapis token: its claim tapis/username (the user name) is missing.")
    if "exp" in claims and (isinstance(claims["exp"], bool) or not isinstance(claims["exp"], (int, float))):
        raise BadRequest("Invalid Tapis token: its claim exp is not a number.")
    return claims


def caller_from_tapis_token(token: str, headers: Mapping[str, str], tenants: Mapping[str, str]) -> Caller:
    """Who an `X-Tapis-Token` names: its user and tenant (a service token's are the
    X-Tapis-User and X-Tapis-Tenant headers it acts on behalf of), with the roles it carries.

    `exp` is read but not enforced: a test's token never expires here. `tenants` maps
    Tapis tenant ids to the emulator's own (`dev` is `DEV-DEVELOP`); others are kept.
    """
    claims = _tapis_claims(token)
    obo_user, obo_tenant = headers.get("x-tapis-user"), headers.get("x-tapis-tenant")
    if claims.get("tapis/account_type", "user") == "service":
        if not (obo_user and obo_user.strip() and obo_tenant and obo_tenant.strip()):
            raise BadRequest("Invalid request; a service token needs the X-Tapis-User and X-Tapis-Tenant headers.")
        username, tenant = obo_user.strip(), obo_tenant.strip()
    elif obo_user is not None or obo_tenant is not None:
        raise BadRequest("Invalid request; cannot set OBO headers with a user token.")
    else:
        username, tenant = claims["tapis/username"].strip(), claims["tapis/tenant_id"].strip()
    roles = claims.get(TAPIS_ROLES_CLAIM) or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise BadRequest(f"Invalid Tapis token: its claim {TAPIS_ROLES_CLAIM} must be a list of role names.")
    return Caller(username, frozenset(internal_role(r) for r in roles), tenants.get(tenant, tenant),
                  needs_base_role=False)


def identify_tapis(headers: Iterable[tuple[str, str]], query: Mapping[str, str], tokens: TokenRegistry,
                   default: Caller, tenants: Mapping[str, str]) -> Caller:
    """Who makes a Tapis v3 request: an `X-Tapis-Token` (a token the emulator issued or
    registered, or any Tapis JWT), else a `?x-nonce=` (only without a token, as in
    Tapis), else `default` on an open server."""
    lowered = {name.lower(): value for name, value in headers}
    token = lowered.get(TAPIS_TOKEN_HEADER)
    if token is not None:
        if not token.strip():
            raise BadRequest("No Tapis access token found in the request.")
        known = tokens.caller_for(token.strip())
        if known is not None:
            return Caller(known.username, known.roles, known.tenant, needs_base_role=False)
        if token.strip().rpartition(".")[2].startswith(EXECUTION_TOKEN_PREFIX):
            raise BadRequest("Invalid Tapis token: it was the token of an execution that has ended.")
        return caller_from_tapis_token(token.strip(), lowered, tenants)
    nonce = query.get("x-nonce")
    if nonce is not None:
        return identify((), query, tokens, default)
    if not tokens.has_user_tokens:
        return Caller(default.username, default.roles, default.tenant, needs_base_role=False)
    raise BadRequest("No JWT or nonce provided.")
