"""`abaco-emulator logs`: print the logs of an execution; --follow until it ends."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..models import FINISHED
from . import waits
from .output import print_json
from .target import Actors, add_target_arguments, describe, everyday, option

if TYPE_CHECKING:
    from ..attrdict import AttrDict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(parser)
    parser.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    parser.add_argument("execution", metavar="EXECUTION", help="execution id")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new log text until the execution is COMPLETE or ERROR "
                             "(Ctrl-C stops following)")
    add_target_arguments(parser)


@everyday
def run(args: argparse.Namespace, actors: Actors) -> int:
    if not args.follow:
        result = actors.getExecutionLogs(actorId=args.actor, executionId=args.execution)
        if option(args, "json"):
            print_json(result)
        else:
            _write_log_text(result.get("logs") or "")
        return 0
    shown = ""

    def new_text_until_finished() -> AttrDict | None:
        """Print what the logs gained since the last poll; the logs once the execution has ended."""
        nonlocal shown
        status = actors.getExecution(actorId=args.actor, executionId=args.execution).get("status")
        result = actors.getExecutionLogs(actorId=args.actor, executionId=args.execution)
        text = result.get("logs") or ""
        if not option(args, "json"):
            # Logs only grow; text that does not continue what was shown is printed whole.
            _write_log_text(text[len(shown):] if text.startswith(shown) else text)
        shown = text
        return result if status in FINISHED else None

    try:
        ended = waits.until(new_text_until_finished, None)
        if option(args, "json"):
            print_json(ended)
    except KeyboardInterrupt:  # the usual way to stop following
        pass
    return 0


def _write_log_text(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
