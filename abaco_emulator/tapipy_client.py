"""`tapis_client(url)`: a real tapipy client bound to an emulator, as `agave_client` is for agavepy.

tapipy is imported here only, and only when a client is asked for: it is a test
dependency of downstream projects (the extra `abaco-emulator[tapipy]`), never a
runtime one of the emulator.
"""
from __future__ import annotations

from typing import Any, Iterable

from .auth import DEFAULT_TAPIS_TENANT, tapis_token

MISSING = "tapipy is not installed: pip install 'abaco-emulator[tapipy]' (or pip install tapipy)"


def tapis_client(url: str, username: str = "testuser", tenant: str = DEFAULT_TAPIS_TENANT,
                 roles: Iterable[str] = (), **options: Any) -> Any:
    """A `tapipy.tapis.Tapis` for `url` (a served emulator's base URL) acting as `username`.

    Its token comes from `tapis_token(username, tenant, roles)`; `tenant_id` is given, so
    tapipy asks no tenant list at start-up. `options` go to `Tapis(...)` unchanged.
    """
    try:
        from tapipy.tapis import Tapis
    except ImportError as exc:
        raise ImportError(MISSING) from exc
    return Tapis(base_url=url.rstrip("/"), tenant_id=tenant, access_token=tapis_token(username, tenant, roles),
                 **options)
