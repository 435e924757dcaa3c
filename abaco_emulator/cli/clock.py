"""`abaco-emulator clock`: show the emulator's clock, or move it forward (emulator only)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, cast

from .output import print_json
from .target import Target, add_target_arguments, describe, on_target, option

if TYPE_CHECKING:
    from ..remote import RemoteActors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(parser)
    parser.add_argument("--advance", type=float, metavar="SECONDS",
                        help="move the clock this many seconds forward first: every cron execution and log "
                             "expiry due in the span happens (e.g. --advance 3600 for the next cron hour)")
    add_target_arguments(parser)


@on_target
def run(args: argparse.Namespace, target: Target) -> int:
    view: Any
    if target.emulator is not None:
        from ..scheduler import clock_view

        if args.advance is not None:
            target.emulator.advance_time(args.advance)
        view = clock_view(target.emulator.clock)
    else:
        remote = cast("RemoteActors", target.actors)
        view = remote.advanceClock(args.advance) if args.advance is not None else remote.getClock()
    if option(args, "json"):
        print_json(view)
    else:
        print(f"now {view['now']} (real time {view['real_now']}; moved {view['offset_seconds']:g} s forward)")
    return 0
