"""The live dashboard at `/`: one static page that polls the emulator's own JSON routes.

The page holds no data: its script reads everything through the API a client uses
(the overview rows of `operations.py`, `getLiveLogs`, and the dialect's `sendMessage`),
with the same credentials, so an open server shows an open page and a server with
tokens answers the script 401 until the page is given one. The assets ship in the
package (`dashboard_assets/`): no CDN, no external font, it works offline.

Actor output is untrusted: the script only ever writes it as text, and the page's
Content-Security-Policy allows scripts from this server's own files only, so even a
mistake that inserted HTML could not run an inline script or handler.
"""
from __future__ import annotations

import html
from importlib import resources
from typing import Any

from flask import Flask, Response

from .operations import EMULATOR_PREFIX

ASSETS = "dashboard_assets"
_ASSET_TYPES = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def asset(name: str) -> bytes:
    """One of the dashboard's files, as shipped in the package."""
    return resources.files("abaco_emulator").joinpath(ASSETS, name).read_bytes()


def page(api_prefix: str) -> str:
    """The dashboard's HTML, told where the dialect's routes and the emulator's are."""
    text = asset("index.html").decode("utf-8")
    return (text.replace("{{API}}", html.escape(api_prefix, quote=True))
                .replace("{{EMULATOR}}", html.escape(EMULATOR_PREFIX + "/actors", quote=True)))


def register(app: Flask, emulator: Any) -> None:
    """Serve the dashboard of `emulator` at `/` (and its assets under `/dashboard/`)."""
    index = page(emulator.dialect.prefixes[0]).encode("utf-8")

    def served(body: bytes, content_type: str) -> Any:
        def view() -> Response:
            return Response(body, status=200, content_type=content_type, headers=_HEADERS)
        return view

    app.add_url_rule("/", endpoint="dashboard", view_func=served(index, "text/html; charset=utf-8"),
                     methods=["GET"])
    for name, content_type in _ASSET_TYPES.items():  # any other path is the API's 405 envelope
        app.add_url_rule(f"/dashboard/{name}", endpoint=f"dashboard_{name}",
                         view_func=served(asset(name), content_type), methods=["GET"])
