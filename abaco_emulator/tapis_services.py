"""The few Tapis v3 services besides Actors that tapipy calls on its own: tenants, sites, tokens.

`Tapis(base_url=URL)` without `tenant_id` lists `GET /v3/sites` and `GET /v3/tenants`
and takes the tenant whose `base_url` is URL; `get_tokens()` posts a password grant to
`POST /v3/oauth2/tokens`. The emulator answers them for its one Tapis tenant (`dev`
unless configured), whose `base_url` is the URL the request came to, so code written
for a real Tapis tenant starts unchanged against it. Any password is accepted unless
the emulator was given `tapis_passwords`: it is for testing, and its tokens are not
signed (`auth.tapis_token`).
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request

from .auth import TAPIS_TOKEN_TTL, decode_jwt_claims, tapis_token
from .dialects.tapis_v3 import TapisV3

SITE_ID = "tacc"
# What the gateway answers outside every service's prefix (Abaco's v3 nginx.conf).
NOT_AN_ENDPOINT: dict[str, Any] = {
    "status": "error", "message": "Invalid request: the requested URL is not an Abaco endpoint.",
    "version": "unknown", "result": None, "metadata": {}}


def _answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _fields() -> dict[str, Any]:
    """A JSON object body or a form's fields; {} for anything else (its fields are then missing)."""
    if (request.mimetype or "").lower() in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(request.form.items())
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def register_tapis_services(app: Flask, emulator: Any) -> None:
    """Add the tenants, sites and token routes of the emulator's Tapis tenant to `app`."""
    wire = TapisV3()
    tenant_id: str = emulator.tapis_tenant

    def base_url() -> str:
        return request.host_url.rstrip("/")

    def tenant() -> dict[str, Any]:
        return {"tenant_id": tenant_id, "base_url": base_url(), "site_id": SITE_ID, "status": "active",
                "description": "The tenant of abaco-emulator", "public_key": None,
                "token_service": base_url() + "/v3/tokens", "security_kernel": base_url() + "/v3/security",
                "authenticator": base_url() + "/v3/oauth2", "admin_user": "admin", "token_gen_services": []}

    def ok(result: Any, message: str) -> Response:
        return _answer(wire.envelope(result, message))

    def refused(message: str, status: int = 400) -> Response:
        return _answer(wire.error(message), status)

    @app.get("/v3/sites")
    def list_sites() -> Response:
        return ok([{"site_id": SITE_ID, "primary": True, "base_url": base_url(),
                    "tenant_base_url_template": base_url(), "site_admin_tenant_id": "admin",
                    "services": ["actors", "authenticator", "tenants"]}], "Sites retrieved successfully.")

    @app.get("/v3/tenants")
    def list_tenants() -> Response:
        return ok([tenant()], "Tenants retrieved successfully.")

    @app.get("/v3/tenants/<name>")
    def get_tenant(name: str) -> Response:
        if name != tenant_id:
            return refused(f"Tenant {name} not found; this emulator serves tenant {tenant_id}.", 404)
        return ok(tenant(), "Tenant retrieved successfully.")

    @app.post("/v3/oauth2/tokens")
    def create_token() -> Response:
        fields = _fields()
        grant = fields.get("grant_type")
        if grant == "password":
            username, password = fields.get("username"), fields.get("password")
            if not isinstance(username, str) or not username.strip() or not isinstance(password, str):
                return refused("Invalid request: the password grant needs a username and a password.")
            username = username.strip()
            passwords = emulator.tapis_passwords
            if passwords is not None and passwords.get(username) != password:
                return refused("Invalid username/password combination.", 401)
        elif grant == "refresh_token":
            try:
                claims = decode_jwt_claims(str(fields.get("refresh_token") or ""))
                username = str(claims["tapis/username"])
            except (ValueError, KeyError):
                return refused("Invalid request: refresh_token is not a token of this emulator.")
        else:
            return refused(f"Invalid request: unsupported grant_type {grant!r}; this emulator supports "
                           "password and refresh_token.")
        access, refresh = tapis_token(username, tenant_id), tapis_token(username, tenant_id)
        expires_at = decode_jwt_claims(access)["exp"]
        return _answer(wire.envelope({
            "access_token": {"access_token": access, "expires_at": expires_at, "expires_in": TAPIS_TOKEN_TTL},
            "refresh_token": {"refresh_token": refresh, "expires_at": expires_at, "expires_in": TAPIS_TOKEN_TTL},
        }, "Token created successfully."), 201)
