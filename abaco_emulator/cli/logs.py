"""`abaco-emulator logs`: print the logs of an execution; --follow until it ends."""
from __future__ import annotations

import argparse
import sys

from ..models import ERROR, FINISHED, RUNNING
from . import waits
from .output import print_json
from .target import Actors, CommandError, UsageError, add_target_arguments, describe, everyday, option


def positive_seconds(text: str) -> float:
    """A --timeout: a number of seconds above 0 (argparse's type)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --timeout {text!r}: expected seconds, e.g. 30") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid --timeout {text!r}: expected a number of seconds above 0")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(parser)
    parser.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    parser.add_argument("execution", metavar="EXECUTION", help="execution id")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="print log lines as they are written until the execution is COMPLETE or ERROR, "
                             "or its actor is in ERROR (Ctrl-C stops following)")
    parser.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                        help="with --follow: give up after SECONDS (exit status 1)")
    add_target_arguments(parser)


# How often (in polls) a follower that sees no progress checks whether the actor is in ERROR.
_ACTOR_CHECK_EVERY = 5


@everyday
def run(args: argparse.Namespace, actors: Actors) -> int:
    if args.timeout is not None and not args.follow:
        raise UsageError("--timeout is for --follow")
    if not args.follow:
        result = actors.getExecutionLogs(actorId=args.actor, executionId=args.execution)
        if option(args, "json"):
            print_json(result)
        else:
            _write_log_text(result.get("logs") or "")
        return 0
    return _follow(args, actors)


class _Follower:
    """One poll of an execution: print what its logs gained; say whether it ended, or why
    following it is pointless (its actor is in ERROR, so a queued execution never runs)."""

    def __init__(self, args: argparse.Namespace, actors: Actors) -> None:
        self.args, self.actors = args, actors
        # The emulator's live logs stream while the execution runs; Abaco's logs route (and
        # an `actors` object without the emulator's route) shows them once it ends.
        self.live = getattr(actors, "getLiveLogs", None)
        self.shown = ""
        self.status = ""
        self.polls = 0
        self.stuck: str | None = None

    def _read(self) -> tuple[str, str, bool]:
        ids = {"actorId": self.args.actor, "executionId": self.args.execution}
        if self.live is not None:
            import requests

            try:
                answer = self.live(**ids, offset=len(self.shown))
                text = answer.get("logs") or ""
                if answer.get("offset"):  # what follows the text shown
                    text = self.shown + text
                return text, answer.get("status") or "", bool(answer.get("finished"))
            except requests.HTTPError as exc:
                if exc.response is None or exc.response.status_code != 405:
                    raise
                self.live = None  # a server without the emulator's routes: Abaco itself
        status = self.actors.getExecution(**ids).get("status") or ""
        text = self.actors.getExecutionLogs(**ids).get("logs") or ""
        return text, status, status in FINISHED

    def __call__(self) -> str | None:
        text, self.status, finished = self._read()
        if not option(self.args, "json"):
            # Logs only grow; text that does not continue what was shown is printed whole.
            _write_log_text(text[len(self.shown):] if text.startswith(self.shown) else text)
        self.shown = text
        if finished:
            return "finished"
        self.polls += 1
        if self.status != RUNNING and self.polls % _ACTOR_CHECK_EVERY == 1:
            actor = self.actors.get(actorId=self.args.actor)
            if actor.get("status") == ERROR:
                message = actor.get("statusMessage") or actor.get("status_message") or "no message"
                self.stuck = (f"actor {self.args.actor} is in ERROR ({message}); execution {self.args.execution} "
                              f"is {self.status} and will not run until the actor is fixed")
                return "stuck"
        return None


def _follow(args: argparse.Namespace, actors: Actors) -> int:
    follower = _Follower(args, actors)
    try:
        ended = waits.until(follower, args.timeout)
    except KeyboardInterrupt:  # the usual way to stop following
        return 0
    if ended == "stuck":
        raise CommandError(follower.stuck or "")
    if ended is None:
        raise CommandError(f"gave up after {args.timeout:g} s: execution {args.execution} is still "
                           f"{follower.status or 'not finished'}")
    if option(args, "json"):
        print_json(actors.getExecutionLogs(actorId=args.actor, executionId=args.execution))
    return 0


def _write_log_text(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
