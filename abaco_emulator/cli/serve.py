"""`abaco-emulator serve`: the Abaco v2 REST API over HTTP, until Ctrl-C or SIGTERM."""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
from typing import TYPE_CHECKING, Callable

from ..auth import DEFAULT_TAPIS_TENANT, DEFAULT_TENANT
from .waits import until

if TYPE_CHECKING:
    from ..server import EmulatorServer


def port_number(text: str) -> int:
    """A TCP port: 1-65535, or 0 for a free one (argparse's type: a bad one is a usage error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 1 to 65535, "
                                         "or 0 for a free one") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: expected a number from 1 to 65535, "
                                         "or 0 for a free one")
    return port


def add_arguments(parser: argparse.ArgumentParser, default_port: int = 5000) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback)")
    parser.add_argument("--port", type=port_number, default=default_port,
                        help=f"port to listen on, 0 for a free one (default: {default_port})")
    parser.add_argument("--db", metavar="FILE", default=None,
                        help="TinyDB JSON file to persist to (default: in memory)")
    parser.add_argument("--runner", choices=("docker", "local"), default="docker",
                        help="how executions run (default: docker)")
    parser.add_argument("--local-command", action="append", default=[], metavar="IMAGE=COMMAND",
                        help="with --runner local: run actors of IMAGE as this shell-split command "
                             "(e.g. 'hello:1=python3 hello.py'); repeatable")
    parser.add_argument("--pull", choices=("never", "missing", "always"), default="never",
                        help="image pull policy of the docker runner (default: never)")
    parser.add_argument("--user", default="testuser",
                        help="the default user: who requests act as on an open server (default: testuser)")
    parser.add_argument("--role", action="append", default=[], metavar="ROLE",
                        help="a role of the default user, e.g. admin (Internal/abaco-admin); repeatable")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=USER[:ROLE,...]",
                        help="accept bearer TOKEN as USER with ROLEs; repeatable. With any --token the "
                             "server requires credentials")
    parser.add_argument("--tenant", default=DEFAULT_TENANT,
                        help="the default user's tenant; JWT headers name their own in their suffix "
                             f"(default: {DEFAULT_TENANT})")
    parser.add_argument("--user-role", action="append", default=[], metavar="USER=ROLE[,ROLE...]",
                        help="give USER these roles whatever credential names them, in both APIs "
                             "(abaco_admin, abaco_privileged or Internal/abaco-admin, ...); repeatable")
    parser.add_argument("--tapis-tenant", default=DEFAULT_TAPIS_TENANT,
                        help="the name of the tenant in the Tapis v3 API (/v3/actors); it is the same tenant "
                             f"as --tenant (default: {DEFAULT_TAPIS_TENANT})")
    parser.add_argument("--v3-case", choices=("snake", "camel"), default="snake",
                        help="key case of the Tapis v3 API, as its web_case (default: snake)")
    parser.add_argument("--allow-privileged", action="store_true",
                        help="run actors registered with privileged=true (otherwise they go to ERROR, "
                             "as on a server that refuses privileged containers)")
    parser.add_argument("--allow-remote-webhooks", action="store_true",
                        help="POST actors' webhook events to any address (otherwise only to loopback ones)")
    parser.add_argument("--log-ex", type=int, metavar="SECONDS",
                        help="how long logs live when an actor sets no logEx; negative: for ever (default: 43200, "
                             "as Abaco)")
    parser.add_argument("--log-ex-limit", type=int, metavar="SECONDS",
                        help="the most an actor's logEx may be (default: 86400, as Abaco)")
    parser.add_argument("--shutdown-grace", type=float, default=10.0, metavar="SECONDS",
                        help="on Ctrl-C or SIGTERM, how long running executions may finish before they are "
                             "stopped (and, with --db, run again at the next start) (default: 10)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (other machines could run actors here)")
    parser.add_argument("--config-key", metavar="KEY", default=os.environ.get("ABACO_EMULATOR_CONFIG_KEY"),
                        help="the Fernet key that seals secret actor configs (default: $ABACO_EMULATOR_CONFIG_KEY, "
                             "else a key kept in FILE.config-key beside --db, or a fresh one in memory)")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default: WARNING)")


class StartFailed(Exception):
    """What stopped a server from starting, with the exit status to give (2: the command line)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def local_commands(specs: list[str], runner: str) -> dict[str, list[str]]:
    """`IMAGE=COMMAND` strings (--local-command) as image -> argv; StartFailed for a bad one."""
    commands: dict[str, list[str]] = {}
    for spec in specs:
        image, sep, command = spec.partition("=")
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise StartFailed(f"invalid --local-command {spec!r}: {exc}", 2) from None
        if not sep or not image.strip() or not argv:
            raise StartFailed(f"invalid --local-command {spec!r}: expected IMAGE=COMMAND", 2)
        commands[image.strip()] = argv
    if commands and runner != "local":
        raise StartFailed("--local-command needs --runner local", 2)
    return commands


def start_server(args: argparse.Namespace) -> tuple["EmulatorServer", dict[str, str]]:
    """The server the serve options describe, started, and its configured tokens; StartFailed
    (its message and exit status) for what prevents it. Shared by `serve` and `exec`."""
    from ..auth import expand_role, parse_user_roles
    from ..errors import EmulatorError
    from ..server import serve, user_tokens

    try:
        tokens = user_tokens(args.token)
        user_roles: dict[str, set[str]] = {}
        for spec in args.user_role:
            user, roles = parse_user_roles(spec)
            user_roles.setdefault(user, set()).update(roles)
    except ValueError as exc:
        raise StartFailed(str(exc), 2) from None
    commands = local_commands(args.local_command, args.runner)
    try:
        server = serve(host=args.host, port=args.port, tokens=tokens, allow_remote=args.allow_remote,
                       db_path=args.db, runner=args.runner, pull=args.pull, user=args.user,
                       roles=[expand_role(r) for r in args.role], tenant=args.tenant,
                       allow_privileged=args.allow_privileged, allow_remote_webhooks=args.allow_remote_webhooks,
                       shutdown_grace=args.shutdown_grace, config_key=args.config_key, user_roles=user_roles,
                       tapis_tenant=args.tapis_tenant, v3_case=args.v3_case, advice="cli",
                       **{name: value for name, value in (("log_ex", args.log_ex), ("log_ex_limit", args.log_ex_limit))
                          if value is not None})
    except (OSError, ValueError, EmulatorError) as exc:  # EmulatorError: a damaged --db file, no Docker
        raise StartFailed(str(exc), 1) from None
    for image, command in commands.items():
        server.emulator.register_image(image, command=command)
    return server, tokens


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM, then stop the emulator and every container it started."""
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signals: list[int] = []  # the stop requests received
    hurry: list[Callable[[], None]] = []  # what a second signal does: stop waiting for running executions

    def request_stop(signum: int, frame: object) -> None:
        """A handler runs between two bytecodes of the main thread, perhaps while that
        thread holds a lock, so it takes none (an Event's set() could deadlock on the
        Event's own lock); engine.hurry takes only a reentrant one."""
        if signals:
            for action in hurry:
                action()
        signals.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server, tokens = start_server(args)
    except StartFailed as exc:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(f"abaco-emulator serve: {exc}", file=sys.stderr)
        return exc.status
    hurry.append(server.emulator.engine.hurry)
    try:
        mode = (f"tokens required ({len(tokens)} configured)" if tokens
                else f"open: requests without credentials act as {args.user}")
        print(f"abaco-emulator: the Abaco actors API v2 at {server.url}/actors/v2", flush=True)
        print(f"  runner: {args.runner}; store: {args.db or 'in memory'}; users: {mode}", flush=True)
        print(f"  and the Tapis v3 actors API at {server.url}/v3/actors (tenant {args.tapis_tenant})", flush=True)
        print(f"  dashboard: {server.url}/", flush=True)
        print(f"  try: curl {server.url}/actors/v2", flush=True)
        print(f"ready: {server.url} (Ctrl-C or SIGTERM to stop)", flush=True)
        # Short sleeps, not a blocking wait: a signal the kernel gives to another thread
        # wakes no wait of the main thread, which alone runs the handler.
        until(lambda: bool(signals) or None, None)
        print(f"abaco-emulator: stopping (running executions may finish within {args.shutdown_grace:g} s; "
              "Ctrl-C again stops them now; what is stopped runs again at the next start on the same --db)",
              flush=True)
    finally:
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("abaco-emulator: stopped", flush=True)
    return 0
