"""Stand-in for the `tapisservice` package (Tapis' Python service library) for the v3 kit.

Abaco's v3 tests (tests/util.py of prod-v3) build a tapipy *service* client with
`plugins=["tapisservice"]` and then use three other Tapis services through it:
  * the Tokens service, for the service's own token   (t.get_tokens())
  * the Security Kernel, to create and grant roles   (t.sk.getRoleNames / createRole / grantRole)
  * the Tokens service, to mint user tokens          (t.tokens.create_token(...))
An emulator of the Actors service has none of them, so this plugin (tapipy calls
`on_tapis_client_instantiation(client, **kwargs)` of every module named in `plugins`)
replaces those four operations on the client with local functions:
  * tokens come from `abaco_emulator.tapis_token(user, tenant, ttl=...)`: unsigned JWTs
    carrying no roles, as the real Tokens service's carry none;
  * roles are recorded here, and a grant is checked against the roles the kit gave
    `abaco-emulator serve --user-role` at start (env V3KIT_USER_ROLES, "user=role,...;..."),
    because the emulator reads roles from its configuration, not from an SK. A grant the
    server was not told about raises, so the mismatch cannot pass silently.
Nothing here sends a request anywhere.
"""
import os
import types

from tapipy.tapis import TapisResult

import abaco_emulator
from abaco_emulator.auth import decode_jwt_claims

from .logs import get_logger

logger = get_logger(__name__)

# tenant -> set of role names; (tenant, user) -> set of role names
_ROLES = {}
_GRANTS = {}


def _configured_roles():
    """The roles serve was started with: {user: {role, ...}}."""
    spec = os.environ.get("V3KIT_USER_ROLES", "")
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        user, _, roles = part.partition("=")
        out.setdefault(user.strip(), set()).update(r.strip() for r in roles.split(",") if r.strip())
    return out


def _token_result(token, ttl):
    claims = decode_jwt_claims(token)
    return TapisResult(**{"access_token": {"access_token": token, "expires_in": ttl,
                                            "expires_at": claims.get("exp")}})


def on_tapis_client_instantiation(t, **kwargs):
    service_user = kwargs.get("username") or "abaco"
    service_tenant = kwargs.get("tenant_id") or "admin"

    def get_tokens(**_kw):
        tok = abaco_emulator.tapis_token(service_user, service_tenant, account_type="service")
        t.set_access_token(TapisResult(**{"access_token": tok}))
        logger.debug("v3kit: service token minted for %s@%s", service_user, service_tenant)

    def getRoleNames(tenant=None, **_kw):
        return TapisResult(**{"names": sorted(_ROLES.get(tenant, set()))})

    def createRole(roleTenant=None, roleName=None, description=None, **_kw):
        _ROLES.setdefault(roleTenant, set()).add(roleName)
        return TapisResult(**{"changes": 1})

    def grantRole(tenant=None, user=None, roleName=None, **_kw):
        configured = _configured_roles().get(user, set())
        if roleName not in configured:
            raise RuntimeError(
                f"v3kit: the suite grants {roleName} to {user}@{tenant}, but abaco-emulator serve was "
                f"not started with --user-role {user}={roleName} (V3KIT_USER_ROLES={os.environ.get('V3KIT_USER_ROLES')!r})")
        _GRANTS.setdefault((tenant, user), set()).add(roleName)
        return TapisResult(**{"changes": 1})

    def create_token(account_type="user", token_tenant_id=None, token_username=None,
                     access_token_ttl=14400, generate_refresh_token=False, **_kw):
        tok = abaco_emulator.tapis_token(token_username, token_tenant_id, ttl=int(access_token_ttl),
                                         account_type=account_type)
        return _token_result(tok, int(access_token_ttl))

    t.get_tokens = get_tokens
    t.sk.getRoleNames = getRoleNames
    t.sk.createRole = createRole
    t.sk.grantRole = grantRole
    t.tokens.create_token = create_token
