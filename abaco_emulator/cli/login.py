"""`abaco-emulator login --url URL` and `logout`: the agavepy credential cache for the emulator.

Tools people already have read one file: `~/.agave/current` (or `$AGAVE_CACHE_DIR/current`),
a JSON object whose `baseurl`, `access_token`, `username` and `tenantid` agavepy's
`Agave.restore()` and the bash abaco-cli (curl + jq over that file) use. `login` writes
one naming the emulator, so they talk to it unchanged (agavepy also needs
`abaco_emulator.patch_agavepy()` to reach a plain-HTTP port: see agave.py).

An existing cache is someone's real credentials: it is never overwritten silently.
Without `--force` login refuses; with it, the file is first moved aside (`current` ->
`current.abaco-emulator-backup`), and `logout` puts it back. A cache this command wrote
says so (`"written_by": "abaco-emulator"`), so logging in again replaces it freely and
logout removes only such a file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..auth import DEFAULT_TENANT
from .target import ENV_TOKEN

MARK_KEY, MARK = "written_by", "abaco-emulator"
BACKUP_SUFFIX = ".abaco-emulator-backup"
# What a token is on an open server, which accepts any bearer token as its default user.
OPEN_SERVER_TOKEN = "abaco-emulator-open-server"


def cache_file() -> Path:
    """Where agavepy's `Agave.restore()` reads the current client (its agavecurrent_path)."""
    directory = os.environ.get("AGAVE_CACHE_DIR")
    return Path(directory, "current") if directory else Path.home() / ".agave" / "current"


def _written_here(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text()).get(MARK_KEY) == MARK)
    except (OSError, ValueError, AttributeError):
        return False


def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[1] if __doc__ else None
    parser.add_argument("--url", required=True, metavar="URL", help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--token", default=None, metavar="TOKEN",
                        help=f"a bearer token the server accepts (default: ${ENV_TOKEN}; an open server takes any)")
    parser.add_argument("--user", default="testuser",
                        help="the user name tools show (default: testuser, the emulator's default user)")
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help=f"the tenant id (default: {DEFAULT_TENANT})")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing cache, after moving it to current" + BACKUP_SUFFIX)


def add_logout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Remove the cache `login` wrote and put back the one it moved aside."


def _check_server(url: str, token: str) -> str | None:
    """Why the server cannot be used with `token`, or None when it answers."""
    import requests

    try:
        answer = requests.get(url.rstrip("/") + "/actors/v2", headers={"Authorization": f"Bearer {token}"},
                              timeout=10)
    except requests.RequestException as exc:
        return f"the server at {url} does not answer ({type(exc).__name__}); start it with `abaco-emulator serve`"
    if answer.status_code == 401:
        return f"the server at {url} refuses that token: give one of its --token values with --token"
    if answer.status_code != 200:
        return f"the server at {url} answered {answer.status_code} to GET /actors/v2: is it the emulator?"
    return None


def _record(url: str, token: str, user: str, tenant: str) -> dict[str, Any]:
    now = int(time.time())
    lifetime = 10 * 365 * 24 * 3600  # the emulator's tokens do not expire
    expires = time.strftime("%a %b %d %H:%M:%S %Z %Y", time.gmtime(now + lifetime))
    return {
        "tenantid": tenant, "baseurl": url.rstrip("/"), "devurl": "", "apisecret": "", "apikey": "",
        "username": user, "access_token": token, "refresh_token": "", "created_at": str(now),
        "expires_in": str(lifetime), "expires_at": expires,
        MARK_KEY: MARK,
    }


def login(args: argparse.Namespace) -> int:
    url = args.url
    if not url.startswith(("http://", "https://")):
        print(f"abaco-emulator login: invalid --url {url!r}: expected http://HOST:PORT", file=sys.stderr)
        return 2
    token = args.token or os.environ.get(ENV_TOKEN) or OPEN_SERVER_TOKEN
    problem = _check_server(url, token)
    if problem:
        print(f"abaco-emulator login: {problem}", file=sys.stderr)
        return 1
    path = cache_file()
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    try:
        if path.exists() and not _written_here(path):
            if not args.force:
                print(f"abaco-emulator login: {path} holds other credentials; left unchanged. Give --force to "
                      f"move it to {backup.name} (logout puts it back)", file=sys.stderr)
                return 1
            if backup.exists():
                print(f"abaco-emulator login: {backup} exists already: both are left unchanged (move one away "
                      "yourself)", file=sys.stderr)
                return 1
            path.replace(backup)
            print(f"abaco-emulator login: moved the existing {path.name} to {backup}", file=sys.stderr)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".abaco-emulator-new")
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            json.dump(_record(url, token, args.user, args.tenant), handle, indent=2)
        temporary.replace(path)
    except OSError as exc:
        print(f"abaco-emulator login: cannot write {exc.filename or path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"logged in: {path} names {url.rstrip('/')} as {args.user}; `abaco-emulator logout` undoes it")
    return 0


def logout(args: argparse.Namespace) -> int:
    path = cache_file()
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    try:
        if path.exists() and not _written_here(path):
            print(f"abaco-emulator logout: {path} was not written by `abaco-emulator login`; left unchanged",
                  file=sys.stderr)
            return 1
        removed = path.exists()
        if removed:
            path.unlink()
        if backup.exists():
            backup.replace(path)
            print(f"logged out: {path} restored from {backup.name}")
        elif removed:
            print(f"logged out: {path} removed")
        else:
            print(f"not logged in: there is no {path}")
    except OSError as exc:
        print(f"abaco-emulator logout: cannot change {exc.filename or path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
