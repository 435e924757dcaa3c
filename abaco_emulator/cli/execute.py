"""`abaco-emulator exec [serve options] -- COMMAND ...`: COMMAND against a served emulator.

The one-liner for CI jobs in any language (`abaco-emulator exec -- pytest`): an emulator
is served on a free loopback port, COMMAND runs with `ABACO_URL` and `ABACO_TOKEN` in its
environment (what the other commands, and the pytest plugin's users, read; for tapipy,
`TAPIS_BASE_URL` and `TAPIS_TOKEN`, the default user's v3 token), and when
COMMAND ends the emulator stops with every container it started. The exit status is
COMMAND's (128+N when a signal N ended it, 127 when it cannot be started).
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys

from . import serve
from .target import ENV_TOKEN, ENV_URL
from .waits import until

# For tapipy code: Tapis(base_url=os.environ["TAPIS_BASE_URL"], access_token=os.environ["TAPIS_TOKEN"]).
TAPIS_URL, TAPIS_TOKEN = "TAPIS_BASE_URL", "TAPIS_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    serve.add_arguments(parser, default_port=0)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                        help="the command to run, after `--`; it gets ABACO_URL and ABACO_TOKEN (and "
                             "TAPIS_BASE_URL, TAPIS_TOKEN for tapipy)")


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    return command


def run(args: argparse.Namespace) -> int:
    """Serve, run COMMAND, stop; COMMAND's exit status."""
    command = _command(args)
    if not command:
        print("abaco-emulator exec: no command given: abaco-emulator exec [serve options] -- COMMAND ...",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server, _ = serve.start_server(args)
    except serve.StartFailed as exc:
        print(f"abaco-emulator exec: {exc}", file=sys.stderr)
        return exc.status
    try:
        from ..auth import tapis_token

        env = dict(os.environ, **{ENV_URL: server.url, ENV_TOKEN: server.token, TAPIS_URL: server.url,
                                  TAPIS_TOKEN: tapis_token(server.emulator.user, server.emulator.tapis_tenant)})
        print(f"abaco-emulator exec: serving {server.url} (dashboard {server.url}/) for: "
              f"{subprocess.list2cmdline(command)}", file=sys.stderr, flush=True)
        try:
            child = subprocess.Popen(command, env=env)
        except OSError as exc:
            print(f"abaco-emulator exec: cannot run {command[0]!r}: {exc.strerror or exc}", file=sys.stderr)
            return 127
        return _wait(child)
    finally:
        server.close()


def _wait(child: "subprocess.Popen[bytes]") -> int:
    """COMMAND's exit status. SIGTERM is passed on to it; Ctrl-C reaches it through the
    terminal's process group, so here it is ignored: COMMAND decides how to end, and the
    emulator stops after it."""
    def forward(signum: int, frame: object) -> None:
        child.send_signal(signum)

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
                signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    try:
        # Short sleeps, not child.wait(): a SIGTERM the kernel gives to another thread
        # wakes no wait of the main thread, which alone runs `forward`.
        until(lambda: child.poll() is not None or None, None)
        code = child.returncode
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code
