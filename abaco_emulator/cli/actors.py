"""`abaco-emulator actors ls|add|update|show|rm`: list, register, change, show and delete actors."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..table import print_table
from . import waits
from .output import cell, print_json, print_record
from .progress import StatusLine
from .target import (Actors, CommandError, UsageError, abaco_message, add_connection_only, add_target_arguments,
                     describe, everyday, key_values, option)

if TYPE_CHECKING:
    from ..attrdict import AttrDict

_ACTOR_KEYS = ("id", "name", "image", "status", "statusMessage", "owner", "description", "stateless",
               "revision", "defaultEnvironment", "hints", "createTime", "lastUpdateTime")


class _JsonOrBody(argparse.Action):
    """`--json` alone: print JSON; `--json BODY`: the whole actor description."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        if values is None:
            namespace.json = True
        else:
            namespace.body = values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(parser)
    add_target_arguments(parser)
    commands = parser.add_subparsers(dest="actors_command", metavar="ACTION")

    ls = commands.add_parser("ls", help="list the actors you can see", description="List the actors you can see.")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    ls.add_argument("-q", "--quiet", action="store_true", help="print only the ids")
    ls.set_defaults(actors_run=_actors_ls)

    add = commands.add_parser("add", help="register an actor", description="Register an actor.")
    _description_arguments(add)
    add.add_argument("-q", "--quiet", action="store_true", help="print only the new actor's id")
    add.set_defaults(actors_run=_actors_add)

    update = commands.add_parser(
        "update", help="change an actor's description",
        description="Replace an actor's description (Abaco's PUT): its current image, name, description, "
                    "statelessness, default environment and hints are kept unless a flag changes them.")
    update.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    _description_arguments(update)
    update.set_defaults(actors_run=_actors_update)

    show = commands.add_parser("show", help="show one actor", description="Show one actor.")
    show.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    show.set_defaults(actors_run=_actors_show)

    rm = commands.add_parser("rm", help="delete actors", description="Delete actors (their executions stay).")
    rm.add_argument("actors", nargs="+", metavar="ACTOR", help="actor ids or aliases")
    rm.set_defaults(actors_run=_actors_rm)

    for sub in (ls, add, update, show, rm):
        describe(sub)
        if sub in (add, update):  # their --json also takes a body
            group = sub.add_argument_group("where the actors are (give --url or --db)")
            add_connection_only(group)
        else:
            add_target_arguments(sub)


def _description_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of an actor's description (add and update)."""
    parser.add_argument("--image", help="the Docker image that runs each message")
    parser.add_argument("--name", help="a name for the actor")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--stateless", dest="stateless", action="store_true", default=None,
                       help="any number of workers (Abaco's default)")
    state.add_argument("--stateful", dest="stateless", action="store_false",
                       help="one worker, with a state (update_state)")
    parser.add_argument("--env", action="append", default=[], metavar="K=V",
                        help="a variable of the actor's defaultEnvironment; repeatable")
    parser.add_argument("--hint", action="append", default=[], metavar="HINT", help="a hint; repeatable")
    parser.add_argument("--description", help="a description")
    parser.add_argument("--json", nargs="?", action=_JsonOrBody, default=argparse.SUPPRESS, metavar="BODY",
                        help="the whole actor description as a JSON object (the flags above override its "
                             "fields); --json alone prints the result as JSON")
    parser.add_argument("--wait", action="store_true",
                        help="wait until the actor is READY (exit status 1 if it goes to ERROR)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (default: 60)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action (ls, add, update, show or rm)."""
    action = getattr(args, "actors_run", None)
    if action is None:
        print("abaco-emulator actors: choose an action: ls, add, update, show or rm "
              "(abaco-emulator actors --help)", file=sys.stderr)
        return 2
    return action(args)


@everyday
def _actors_ls(args: argparse.Namespace, actors: Actors) -> int:
    # Abaco pages only searches (a listing with query parameters is one), so list all, show --limit
    found = list(actors.list())[:args.limit]
    if option(args, "json"):
        print_json(found)
    elif args.quiet:
        for actor in found:
            print(actor["id"])
    elif not found:
        print("No actors.")
    else:
        print_table(["ID", "NAME", "IMAGE", "STATUS", "STATELESS"],
                     [[a.get("id", ""), cell(a.get("name")), a.get("image", ""), a.get("status", ""),
                       cell(a.get("stateless"))] for a in found])
    return 0


def _actor_description(args: argparse.Namespace, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The description the flags give, over `current` (the fields of the actor an update keeps)."""
    body: dict[str, Any] = dict(current or {})
    text = getattr(args, "body", None)
    if text is not None:
        try:
            given = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--json BODY is not valid JSON: {exc}") from None
        if not isinstance(given, dict):
            raise UsageError("--json BODY must be a JSON object, e.g. '{\"image\": \"alpine:3\"}'")
        body.update(given)
    for key, value in (("image", args.image), ("name", args.name), ("description", args.description),
                       ("stateless", args.stateless)):
        if value is not None:
            body[key] = value
    if args.env:
        body["defaultEnvironment"] = {**(body.get("defaultEnvironment") or {}), **key_values(args.env, "--env")}
    if args.hint:
        body["hints"] = list(body.get("hints") or []) + list(args.hint)
    return body


@everyday
def _actors_add(args: argparse.Namespace, actors: Actors) -> int:
    return _print_changed(args, actors, actors.add(body=_actor_description(args)), "add")


# What `actors update` keeps of the current actor: Abaco's PUT replaces the whole description.
_KEPT_ON_UPDATE = ("image", "name", "description", "stateless", "defaultEnvironment", "hints")


@everyday
def _actors_update(args: argparse.Namespace, actors: Actors) -> int:
    current = actors.get(actorId=args.actor)
    kept = {key: current[key] for key in _KEPT_ON_UPDATE if current.get(key) not in (None, "", [], {})}
    return _print_changed(args, actors, actors.update(actorId=args.actor, body=_actor_description(args, kept)),
                          "update")


def _print_changed(args: argparse.Namespace, actors: Actors, actor: AttrDict, action: str) -> int:
    """Print an actor just added or updated (after --wait); 1 when it is in ERROR."""
    status = 0
    if args.wait:
        actor = _wait_for_actor(actors, actor["id"], args.timeout)
        if actor.get("status") == "ERROR":
            status = 1
    if option(args, "json"):
        print_json(actor)
    elif getattr(args, "quiet", False):
        print(actor["id"])
    else:
        print_record(actor, _ACTOR_KEYS)
    if status:
        print(f"abaco-emulator actors {action}: actor {actor['id']} is in ERROR: {actor.get('statusMessage', '')}",
              file=sys.stderr)
    return status


def _wait_for_actor(actors: Actors, actor_id: str, timeout: float) -> AttrDict:
    """The actor once it is no longer SUBMITTED (READY or ERROR)."""
    def started() -> AttrDict | None:
        actor = actors.get(actorId=actor_id)
        if actor.get("status") != "SUBMITTED":
            return actor
        status.show(f"actor {actor_id} is SUBMITTED: starting its worker")
        return None

    with StatusLine() as status:
        actor = waits.until(started, timeout)
    if actor is None:
        raise CommandError(f"actor {actor_id} is still SUBMITTED after {timeout:g} s")
    return actor


@everyday
def _actors_show(args: argparse.Namespace, actors: Actors) -> int:
    actor = actors.get(actorId=args.actor)
    if option(args, "json"):
        print_json(actor)
    else:
        print_record(actor, _ACTOR_KEYS)
    return 0


@everyday
def _actors_rm(args: argparse.Namespace, actors: Actors) -> int:
    import requests

    deleted, status = [], 0
    for actor_id in args.actors:
        try:
            actors.delete(actorId=actor_id)
        except requests.HTTPError as exc:
            print(f"abaco-emulator actors rm: {actor_id}: {abaco_message(exc)}", file=sys.stderr)
            status = 1
            continue
        deleted.append(actor_id)
        if not option(args, "json"):
            print(f"Deleted actor {actor_id}.")
    if option(args, "json"):
        print_json(deleted)
    return status
