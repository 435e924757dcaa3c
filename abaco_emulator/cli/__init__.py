"""The `abaco-emulator` command.

Each subcommand is a `Command`: a function that adds its arguments to its parser and a
function that runs it and returns the exit status. To add one, write both in a module
of this package (as `serve.py`, `send.py`, ... do) and append a `Command` to `COMMANDS`.
Shared by the commands: `target.py` (where the actors are, and failures as one line on
stderr), `output.py` (how answers are printed) and `waits.py` (how commands poll).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from abaco_emulator import __version__
from . import actors, clock, demo, execute, executions, login, logs, send, serve


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: list[Command] = [
    Command("serve", "serve the Abaco v2 REST API over HTTP", serve.add_arguments, serve.run),
    Command("exec", "serve an emulator on a free loopback port for one command (ABACO_URL, ABACO_TOKEN), "
            "then stop it: `exec -- pytest`", execute.add_arguments, execute.run),
    Command("demo", "register an actor, send it messages, print executions, logs and results",
            demo.add_arguments, demo.run),
    Command("actors", "list, register, change, show and delete actors (ls, add, update, show, rm)",
            actors.add_arguments, actors.run),
    Command("send", "send an actor a message; --wait prints the execution's status and logs",
            send.add_arguments, send.run),
    Command("executions", "list an actor's executions, or show one", executions.add_arguments, executions.run),
    Command("logs", "print the logs of an execution; --follow until it ends", logs.add_arguments, logs.run),
    Command("clock", "show the emulator's clock; --advance SECONDS runs what falls due (cron, log expiry)",
            clock.add_arguments, clock.run),
    Command("login", "write the agavepy credential cache (~/.agave/current) naming an emulator, for "
            "Agave.restore() and the abaco-cli", login.add_login_arguments, login.login),
    Command("logout", "undo `login`: remove its cache and put back the one it moved aside",
            login.add_logout_arguments, login.logout),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abaco-emulator",
                                     description="TACC's Abaco actors service, reproduced on one machine.")
    parser.add_argument("--version", action="version", version=f"abaco-emulator {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except BrokenPipeError:
        # Whoever read the output stopped (`| head`): end quietly, as other Unix tools do.
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
