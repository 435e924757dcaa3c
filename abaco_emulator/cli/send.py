"""`abaco-emulator send`: send an actor a message; --wait prints the execution's status and logs."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..models import FINISHED
from . import waits
from .output import cell, print_json, print_record
from .progress import StatusLine
from .target import Actors, CommandError, UsageError, add_target_arguments, describe, everyday, key_values, option


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(parser)
    parser.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    parser.add_argument("message", metavar="MESSAGE", nargs="?",
                        help="a JSON object is sent as JSON, anything else as a string (MSG)")
    parser.add_argument("--binary", metavar="FILE", help="send the bytes of FILE (- for stdin) as a binary message")
    parser.add_argument("--env", action="append", default=[], metavar="K=V",
                        help="an environment variable of this execution; repeatable")
    parser.add_argument("--wait", action="store_true",
                        help="wait for the execution, print its status and logs (exit status 0 when COMPLETE)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (default: 60)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the execution id")
    add_target_arguments(parser)


def _message_body(text: str) -> object:
    """A JSON object as itself; anything else as Abaco's string message."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"message": text}


def _read_binary(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read --binary {path}: {exc.strerror or exc}") from None


@everyday
def run(args: argparse.Namespace, actors: Actors) -> int:
    if (args.message is None) == (args.binary is None):
        raise UsageError("give a MESSAGE or --binary FILE (one of them)")
    environment = key_values(args.env, "--env") or None
    if args.binary is not None:
        sent = actors.sendBinaryMessage(actorId=args.actor, message=_read_binary(args.binary),
                                        environment=environment)
    else:
        sent = actors.sendMessage(actorId=args.actor, body=_message_body(args.message), environment=environment)
    execution_id = sent["executionId"]
    if not args.wait:
        if option(args, "json"):
            print_json(sent)
        elif args.quiet:
            print(execution_id)
        else:
            print_record(sent, ("executionId", "msg"))
        return 0
    if not option(args, "json") and not args.quiet:
        print(f"Sent to actor {args.actor}: execution {execution_id}; waiting for it...", flush=True)
    execution = _wait_for_execution(actors, args.actor, execution_id, args.timeout)
    logs = actors.getExecutionLogs(actorId=args.actor, executionId=execution_id).get("logs") or ""
    if option(args, "json"):
        print_json({**execution, "logs": logs})
    elif args.quiet:
        print(execution_id)
    else:
        print(f"Execution {execution_id} {execution.get('status')}: exit code {cell(execution.get('exitCode'))}, "
              f"runtime {cell(execution.get('runtime'))} s")
        print("Logs:" if logs else "Logs: (none)")
        for line in logs.splitlines():
            print(f"  | {line}")
    return 0 if execution.get("status") == "COMPLETE" else 1


def _wait_for_execution(actors: Actors, actor_id: str, execution_id: str, timeout: float) -> dict[str, Any]:
    """The execution once COMPLETE or ERROR; a CommandError saying why it is stuck after `timeout`."""
    last: dict[str, Any] = {}

    def finished() -> dict[str, Any] | None:
        nonlocal last
        last = actors.getExecution(actorId=actor_id, executionId=execution_id)
        if last.get("status") in FINISHED:
            return last
        status.show(f"execution {execution_id} is {last.get('status')}")
        return None

    with StatusLine() as status:
        execution = waits.until(finished, timeout)
    if execution is None:
        reason = f"execution {execution_id} is still {last.get('status')} after {timeout:g} s"
        actor = actors.get(actorId=actor_id)
        if actor.get("status") == "ERROR":
            reason += f"; its actor is in ERROR: {actor.get('statusMessage', '')}"
        raise CommandError(reason)
    return execution
