"""The `abaco-emulator` command.

Each subcommand is a `Command`: a function that adds its arguments to its parser and a
function that runs it and returns the exit status. To add one (demo, actors, send,
logs, ...), write both and append a `Command` to `COMMANDS`.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar
from urllib.parse import urlsplit

from .models import FINISHED, PULL_POLICIES
from .table import print_table
from .waiting import poll

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# -- serve -----------------------------------------------------------------------------

def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on, 0 for a free one (default: 5000)")
    parser.add_argument("--db", metavar="FILE", default=None,
                        help="TinyDB JSON file to persist to (default: in memory)")
    parser.add_argument("--runner", choices=("docker", "local"), default="docker",
                        help="how executions run (default: docker)")
    parser.add_argument("--pull", choices=PULL_POLICIES, default="never",
                        help="image pull policy of the docker runner (default: never)")
    parser.add_argument("--user", default="testuser",
                        help="the default user: who requests act as on an open server (default: testuser)")
    parser.add_argument("--role", action="append", default=[], metavar="ROLE",
                        help="a role of the default user, e.g. admin (Internal/abaco-admin); repeatable")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=USER[:ROLE,...]",
                        help="accept bearer TOKEN as USER with ROLEs; repeatable. With any --token the "
                             "server requires credentials")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (other machines could run actors here)")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default: WARNING)")


def _run_serve(args: argparse.Namespace) -> int:
    from .errors import EmulatorError
    from .server import expand_role, serve, user_tokens

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        tokens = user_tokens(args.token)
    except ValueError as exc:
        print(f"abaco-emulator serve: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server = serve(host=args.host, port=args.port, tokens=tokens, allow_remote=args.allow_remote,
                       db_path=args.db, runner=args.runner, pull=args.pull, user=args.user,
                       roles=[expand_role(r) for r in args.role])
    except (OSError, ValueError, EmulatorError) as exc:  # EmulatorError: a damaged --db file, no Docker
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(f"abaco-emulator serve: {exc}", file=sys.stderr)
        return 1
    try:
        mode = (f"tokens required ({len(tokens)} configured)" if tokens
                else f"open: requests without credentials act as {args.user}")
        print(f"abaco-emulator: the Abaco actors API v2 at {server.url}/actors/v2", flush=True)
        print(f"  runner: {args.runner}; store: {args.db or 'in memory'}; users: {mode}", flush=True)
        print(f"  try: curl {server.url}/actors/v2", flush=True)
        print(f"ready: {server.url} (Ctrl-C or SIGTERM to stop)", flush=True)
        while not stop.wait(0.5):
            pass
        print("abaco-emulator: stopping", flush=True)
    finally:
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("abaco-emulator: stopped", flush=True)
    return 0


# -- demo ------------------------------------------------------------------------------

def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runner", choices=("docker", "local"), default=None,
                        help="how executions run (default: docker when an engine answers, else local)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the executions")


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .errors import EmulatorError

    try:
        run_demo(args.runner, timeout=args.timeout)
    except EmulatorError as exc:
        print(f"abaco-emulator demo: {exc}", file=sys.stderr)
        return 1
    return 0


# -- everyday commands: actors, send, executions, logs ---------------------------------
#
# Each is written once against an object with agavepy's `actors` method names: for
# --url a `RemoteActors` (HTTP), for --db the `actors` of an in-process emulator. The
# commands only parse arguments and render answers; every rule stays in the service.

ENV_URL = "ABACO_URL"
ENV_TOKEN = "ABACO_TOKEN"
_POLL_SECONDS = 0.2

_TARGET_EPILOG = """\
Where the actors are: give exactly one of
  --url URL   a running server (abaco-emulator serve, or Abaco itself); the
              environment variables ABACO_URL and ABACO_TOKEN are used when
              --url / --token are not given
  --db FILE   a database file, opened by an emulator inside this command.
              While the command runs, that emulator runs the file's queued
              messages (that is how the emulator works): `send --wait --db`
              runs the execution in this process, and a command waits for the
              executions it started to finish before it exits. A file that a
              running `serve --db` has open is refused: use --url for it.
              With --runner local, actors whose image has no --local-command
              go to ERROR (their messages wait).

Output is a readable table; --json prints the raw JSON of the result instead.
Exit status: 0 on success, 1 when the service refuses (its message on stderr)
or cannot be reached, 2 for a command line that cannot be used.
"""


class CommandError(Exception):
    """A failure to report in one line on stderr (exit status 1), never a traceback."""

    exit_status = 1


class UsageError(CommandError):
    """A command line that cannot be used (exit status 2, as argparse does)."""

    exit_status = 2


def _option(args: argparse.Namespace, name: str, default: object = None) -> object:
    """An option that may be given at the group level (`actors --json ls`) or the leaf level."""
    return getattr(args, name, default)


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--url/--token/--db/--runner/--json; defaults are suppressed so any level may set them."""
    _add_connection_only(parser.add_argument_group("where the actors are (give --url or --db)"))
    parser.add_argument("--json", dest="json", action="store_true", default=argparse.SUPPRESS,
                        help="print the raw JSON of the result (for scripts)")


def _describe(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _TARGET_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _key_values(pairs: list[str], what: str) -> dict[str, str]:
    """`K=V` strings (--env, --local-command) as a dict; a pair without `=` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid {what} {pair!r}: expected KEY=VALUE")
        out[key] = value
    return out


class _Target:
    """The actors object a command works on, and how to close it."""

    def __init__(self, actors: object, where: str, emulator: object = None, url: str | None = None) -> None:
        self.actors = actors
        self.where = where
        self.emulator = emulator
        self.url = url


def _resolve_target(args: argparse.Namespace) -> tuple[str | None, str | None]:
    url, db = _option(args, "url"), _option(args, "db")
    if url and db:
        raise UsageError("give either --url (a running server) or --db (a database file), not both")
    if not url and not db:
        url = os.environ.get(ENV_URL) or None
    if not url and not db:
        raise UsageError(f"where are the actors? Give --url http://127.0.0.1:5000 (or set {ENV_URL}) for a "
                         "running `abaco-emulator serve`, or --db FILE to open a database file in this process")
    if url and not str(url).startswith(("http://", "https://")):
        raise UsageError(f"invalid --url {url!r}: expected http://HOST:PORT, e.g. http://127.0.0.1:5000")
    if url and (_option(args, "runner") or _option(args, "local_command")):
        raise UsageError("--runner and --local-command are for --db: a server at --url runs its own executions")
    return url, db


def _open_target(args: argparse.Namespace) -> _Target:
    url, db = _resolve_target(args)
    if url:
        from .remote import RemoteActors

        token = _option(args, "token") or os.environ.get(ENV_TOKEN) or None
        args.resolved_url = url
        return _Target(RemoteActors(url, token), where=url, url=url)
    return _open_database(args, db)


def _open_database(args: argparse.Namespace, db: str) -> _Target:
    from .emulator import AbacoEmulator

    runner = _option(args, "runner") or "docker"
    commands = {image: shlex.split(command)
                for image, command in _key_values(_option(args, "local_command") or [], "--local-command").items()}
    if commands and runner != "local":
        raise UsageError("--local-command needs --runner local")
    for image, command in commands.items():
        if not command:
            raise UsageError(f"invalid --local-command for {image}: the command is empty")
    emulator = AbacoEmulator(db_path=db, runner=runner)  # StoreLocked while a server has it open
    try:
        for image, command in commands.items():
            emulator.register_image(image, command=command)
        _settle(emulator, set(commands))
    except BaseException:
        _close_target(_Target(emulator.actors, db, emulator), graceful=False)
        raise
    return _Target(emulator.actors, where=db, emulator=emulator)


def _settle(emulator: object, local_images: set[str], timeout: float = 10.0) -> None:
    """Wait (briefly) until the reopened actors' workers have started or failed.

    Opening a database file restarts every actor (status SUBMITTED) in the background;
    without this, a listing made at once would show them all as SUBMITTED.
    """
    def settled() -> bool:
        return not any(a["status"] == "SUBMITTED" or (a["status"] == "ERROR" and a["image"] in local_images)
                       for a in emulator.store.all("actors"))

    _poll(settled, timeout, interval=0.02)


def _close_target(target: _Target, graceful: bool = True) -> None:
    """Close what `_open_target` opened; an emulator first lets running executions finish
    (what is queued stays queued in the file)."""
    if target.emulator is None:
        target.actors.close()
        return
    emulator = target.emulator
    busy = emulator.engine.running_count() if graceful else 0
    if busy:
        print(f"abaco-emulator: waiting for {busy} running execution(s) of {target.where} to finish "
              "(Ctrl-C to force-quit)", file=sys.stderr)
    try:
        emulator.close(finish_running=graceful, timeout=None)
    except KeyboardInterrupt:
        print("abaco-emulator: interrupted: the running executions were force-quit", file=sys.stderr)


def _pause(seconds: float) -> None:
    """One polling interval (a function, so tests can interrupt a wait)."""
    time.sleep(seconds)


T = TypeVar("T")


def _poll(check: Callable[[], T | None], timeout: float | None, interval: float = _POLL_SECONDS) -> T | None:
    """`waiting.poll`, sleeping through `_pause`."""
    return poll(check, timeout, interval, sleep=_pause)


def _abaco_message(error: Exception) -> str:
    """The message of Abaco's error envelope carried by a `requests.HTTPError`."""
    response = error.response
    if response is not None:
        try:
            message = response.json().get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            if response.status_code == 401:
                message += f" (give --token or set {ENV_TOKEN})"
            return str(message)
    return str(error)


def _everyday(run: Callable[[argparse.Namespace, object], int]) -> Callable[[argparse.Namespace], int]:
    """Open the target, run the command, close the target; every failure becomes one line on stderr."""
    def wrapper(args: argparse.Namespace) -> int:
        import requests

        from .errors import EmulatorError

        name = " ".join(["abaco-emulator", args.command] + ([args.actors_command]
                                                             if getattr(args, "actors_command", None) else []))
        target, graceful = None, True
        try:
            try:
                target = _open_target(args)
                return run(args, target.actors)
            except KeyboardInterrupt:
                graceful = False  # Ctrl-C: force-quit what runs, do not wait for it
                raise
            finally:
                if target is not None:
                    _close_target(target, graceful)
        except CommandError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return exc.exit_status
        except requests.HTTPError as exc:
            print(f"{name}: {_abaco_message(exc)}", file=sys.stderr)
            return 1
        except requests.ConnectionError as exc:
            url = getattr(args, "resolved_url", "") or "the given URL"
            port = urlsplit(url).port or 5000
            detail = "connection refused" if "refused" in str(exc).lower() else "no answer"
            print(f"{name}: the server at {url} does not answer ({detail}). Start one with "
                  f"`abaco-emulator serve --port {port}` (add `&` to keep it in the background), or work "
                  "on a database file without a server with --db FILE.", file=sys.stderr)
            return 1
        except requests.Timeout:
            print(f"{name}: the server at {getattr(args, 'resolved_url', '')} took too long to answer",
                  file=sys.stderr)
            return 1
        except requests.RequestException as exc:
            print(f"{name}: the request failed: {exc}", file=sys.stderr)
            return 1
        except EmulatorError as exc:  # a damaged database file, no Docker engine, ...
            from .errors import DockerUnavailable

            hint = " Here: add --runner local to --db." if isinstance(exc, DockerUnavailable) else ""
            print(f"{name}: {exc}{hint}", file=sys.stderr)
            return 1
        except OSError as exc:  # e.g. a database file that cannot be written
            where = f" {exc.filename}" if exc.filename else ""
            print(f"{name}: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{name}: interrupted", file=sys.stderr)
            return 130
    wrapper.__name__ = run.__name__
    wrapper.__doc__ = run.__doc__
    return wrapper


# -- output ----------------------------------------------------------------------------

def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _cell(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def _short_time(value: object) -> str:
    """A table's time: to the second (the JSON keeps the milliseconds)."""
    text = _cell(value)
    if len(text) > 20 and text.endswith("Z") and "." in text:
        return text.split(".")[0] + "Z"
    return text


def _print_record(record: dict, first: Sequence[str] = ()) -> None:
    """A record as `key  value` lines: the keys in `first`, then the others (not `_links`)."""
    keys = [k for k in first if k in record] + [k for k in record if k not in first and k != "_links"]
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        print(f"{key.ljust(width)}  {_cell(record[key])}".rstrip())


_ACTOR_KEYS = ("id", "name", "image", "status", "statusMessage", "owner", "description", "stateless",
               "revision", "defaultEnvironment", "hints", "createTime", "lastUpdateTime")
_EXECUTION_KEYS = ("id", "actorId", "status", "exitCode", "runtime", "executor", "messageReceivedTime",
                   "startTime", "finishTime", "cpu", "io", "workerId")


# -- actors ls|add|show|rm -------------------------------------------------------------

class _JsonOrBody(argparse.Action):
    """`--json` alone: print JSON; `--json BODY`: the whole actor description."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        if values is None:
            namespace.json = True
        else:
            namespace.body = values


def _add_actors_arguments(parser: argparse.ArgumentParser) -> None:
    _describe(parser)
    _add_target_arguments(parser)
    commands = parser.add_subparsers(dest="actors_command", metavar="ACTION")

    ls = commands.add_parser("ls", help="list the actors you can see", description="List the actors you can see.")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    ls.add_argument("-q", "--quiet", action="store_true", help="print only the ids")
    ls.set_defaults(actors_run=_actors_ls)

    add = commands.add_parser("add", help="register an actor", description="Register an actor.")
    add.add_argument("--image", help="the Docker image that runs each message")
    add.add_argument("--name", help="a name for the actor")
    state = add.add_mutually_exclusive_group()
    state.add_argument("--stateless", dest="stateless", action="store_true", default=None,
                       help="any number of workers (Abaco's default)")
    state.add_argument("--stateful", dest="stateless", action="store_false",
                       help="one worker, with a state (update_state)")
    add.add_argument("--env", action="append", default=[], metavar="K=V",
                     help="a variable of the actor's defaultEnvironment; repeatable")
    add.add_argument("--hint", action="append", default=[], metavar="HINT", help="a hint; repeatable")
    add.add_argument("--description", help="a description")
    add.add_argument("--json", nargs="?", action=_JsonOrBody, default=argparse.SUPPRESS, metavar="BODY",
                     help="the whole actor description as a JSON object (the flags above override its "
                          "fields); --json alone prints the result as JSON")
    add.add_argument("--wait", action="store_true",
                     help="wait until the actor is READY (exit status 1 if it goes to ERROR)")
    add.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (default: 60)")
    add.add_argument("-q", "--quiet", action="store_true", help="print only the new actor's id")
    add.set_defaults(actors_run=_actors_add)

    show = commands.add_parser("show", help="show one actor", description="Show one actor.")
    show.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    show.set_defaults(actors_run=_actors_show)

    rm = commands.add_parser("rm", help="delete actors", description="Delete actors (their executions stay).")
    rm.add_argument("actors", nargs="+", metavar="ACTOR", help="actor ids or aliases")
    rm.set_defaults(actors_run=_actors_rm)

    for sub in (ls, add, show, rm):
        _describe(sub)
        if sub is add:  # its --json also takes a body
            group = sub.add_argument_group("where the actors are (give --url or --db)")
            _add_connection_only(group)
        else:
            _add_target_arguments(sub)


def _add_connection_only(group: argparse._ArgumentGroup) -> None:
    """The target options without --json (for `actors add`, whose --json takes a body)."""
    group.add_argument("--url", default=argparse.SUPPRESS, metavar="URL",
                       help=f"a running server, e.g. http://127.0.0.1:5000 (default: ${ENV_URL})")
    group.add_argument("--token", default=argparse.SUPPRESS, metavar="TOKEN",
                       help=f"bearer token for --url (default: ${ENV_TOKEN})")
    group.add_argument("--db", default=argparse.SUPPRESS, metavar="FILE",
                       help="a database file, opened in this process (see below)")
    group.add_argument("--runner", choices=("docker", "local"), default=argparse.SUPPRESS,
                       help="how --db runs executions (default: docker)")
    group.add_argument("--local-command", action="append", default=argparse.SUPPRESS,
                       metavar="IMAGE=COMMAND",
                       help="with --db --runner local: run IMAGE as this shell-split command; repeatable")


def _run_actors(args: argparse.Namespace) -> int:
    run = getattr(args, "actors_run", None)
    if run is None:
        print("abaco-emulator actors: choose an action: ls, add, show or rm "
              "(abaco-emulator actors --help)", file=sys.stderr)
        return 2
    return run(args)


@_everyday
def _actors_ls(args: argparse.Namespace, actors: object) -> int:
    found = actors.list(limit=args.limit)
    if _option(args, "json"):
        _print_json(found)
    elif args.quiet:
        for actor in found:
            print(actor["id"])
    elif not found:
        print("No actors.")
    else:
        print_table(["ID", "NAME", "IMAGE", "STATUS", "STATELESS"],
                     [[a.get("id", ""), _cell(a.get("name")), a.get("image", ""), a.get("status", ""),
                       _cell(a.get("stateless"))] for a in found])
    return 0


def _actor_description(args: argparse.Namespace) -> dict:
    body: dict = {}
    text = getattr(args, "body", None)
    if text is not None:
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--json BODY is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise UsageError("--json BODY must be a JSON object, e.g. '{\"image\": \"alpine:3\"}'")
    for key, value in (("image", args.image), ("name", args.name), ("description", args.description),
                       ("stateless", args.stateless)):
        if value is not None:
            body[key] = value
    if args.env:
        body["defaultEnvironment"] = {**(body.get("defaultEnvironment") or {}), **_key_values(args.env, "--env")}
    if args.hint:
        body["hints"] = list(body.get("hints") or []) + list(args.hint)
    return body


@_everyday
def _actors_add(args: argparse.Namespace, actors: object) -> int:
    actor = actors.add(body=_actor_description(args))
    status = 0
    if args.wait:
        actor = _wait_for_actor(actors, actor["id"], args.timeout)
        if actor.get("status") == "ERROR":
            status = 1
    if _option(args, "json"):
        _print_json(actor)
    elif args.quiet:
        print(actor["id"])
    else:
        _print_record(actor, _ACTOR_KEYS)
    if status:
        print(f"abaco-emulator actors add: actor {actor['id']} is in ERROR: {actor.get('statusMessage', '')}",
              file=sys.stderr)
    return status


def _wait_for_actor(actors: object, actor_id: str, timeout: float) -> dict:
    """The actor once it is no longer SUBMITTED (READY or ERROR)."""
    def started() -> dict | None:
        actor = actors.get(actorId=actor_id)
        return actor if actor.get("status") != "SUBMITTED" else None

    actor = _poll(started, timeout)
    if actor is None:
        raise CommandError(f"actor {actor_id} is still SUBMITTED after {timeout:g} s")
    return actor


@_everyday
def _actors_show(args: argparse.Namespace, actors: object) -> int:
    actor = actors.get(actorId=args.actor)
    if _option(args, "json"):
        _print_json(actor)
    else:
        _print_record(actor, _ACTOR_KEYS)
    return 0


@_everyday
def _actors_rm(args: argparse.Namespace, actors: object) -> int:
    import requests

    deleted, status = [], 0
    for actor_id in args.actors:
        try:
            actors.delete(actorId=actor_id)
        except requests.HTTPError as exc:
            print(f"abaco-emulator actors rm: {actor_id}: {_abaco_message(exc)}", file=sys.stderr)
            status = 1
            continue
        deleted.append(actor_id)
        if not _option(args, "json"):
            print(f"Deleted actor {actor_id}.")
    if _option(args, "json"):
        _print_json(deleted)
    return status


# -- send ------------------------------------------------------------------------------

def _add_send_arguments(parser: argparse.ArgumentParser) -> None:
    _describe(parser)
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
    _add_target_arguments(parser)


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


@_everyday
def _run_send(args: argparse.Namespace, actors: object) -> int:
    if (args.message is None) == (args.binary is None):
        raise UsageError("give a MESSAGE or --binary FILE (one of them)")
    environment = _key_values(args.env, "--env") or None
    if args.binary is not None:
        sent = actors.sendBinaryMessage(actorId=args.actor, message=_read_binary(args.binary),
                                        environment=environment)
    else:
        sent = actors.sendMessage(actorId=args.actor, body=_message_body(args.message), environment=environment)
    execution_id = sent["executionId"]
    if not args.wait:
        if _option(args, "json"):
            _print_json(sent)
        elif args.quiet:
            print(execution_id)
        else:
            _print_record(sent, ("executionId", "msg"))
        return 0
    if not _option(args, "json") and not args.quiet:
        print(f"Sent to actor {args.actor}: execution {execution_id}; waiting for it...", flush=True)
    execution = _wait_for_execution(actors, args.actor, execution_id, args.timeout)
    logs = actors.getExecutionLogs(actorId=args.actor, executionId=execution_id).get("logs") or ""
    if _option(args, "json"):
        _print_json({**execution, "logs": logs})
    elif args.quiet:
        print(execution_id)
    else:
        print(f"Execution {execution_id} {execution.get('status')}: exit code {_cell(execution.get('exitCode'))}, "
              f"runtime {_cell(execution.get('runtime'))} s")
        print("Logs:" if logs else "Logs: (none)")
        for line in logs.splitlines():
            print(f"  | {line}")
    return 0 if execution.get("status") == "COMPLETE" else 1


def _wait_for_execution(actors: object, actor_id: str, execution_id: str, timeout: float) -> dict:
    """The execution once COMPLETE or ERROR; a CommandError saying why it is stuck after `timeout`."""
    last: dict = {}

    def finished() -> dict | None:
        nonlocal last
        last = actors.getExecution(actorId=actor_id, executionId=execution_id)
        return last if last.get("status") in FINISHED else None

    execution = _poll(finished, timeout)
    if execution is None:
        reason = f"execution {execution_id} is still {last.get('status')} after {timeout:g} s"
        actor = actors.get(actorId=actor_id)
        if actor.get("status") == "ERROR":
            reason += f"; its actor is in ERROR: {actor.get('statusMessage', '')}"
        raise CommandError(reason)
    return execution


# -- executions ------------------------------------------------------------------------

def _add_executions_arguments(parser: argparse.ArgumentParser) -> None:
    _describe(parser)
    parser.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    parser.add_argument("execution", metavar="EXECUTION", nargs="?", help="show this execution in full")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    _add_target_arguments(parser)


@_everyday
def _run_executions(args: argparse.Namespace, actors: object) -> int:
    if args.execution:
        execution = actors.getExecution(actorId=args.actor, executionId=args.execution)
        if _option(args, "json"):
            _print_json(execution)
        else:
            _print_record(execution, _EXECUTION_KEYS)
        return 0
    summary = actors.listExecutions(actorId=args.actor, limit=args.limit)
    if _option(args, "json"):
        _print_json(summary)
        return 0
    executions = summary.get("executions") or []
    if executions:
        print_table(["ID", "STATUS", "RECEIVED", "STARTED", "FINISHED"],
                     [[e.get("id", ""), e.get("status", ""), _short_time(e.get("messageReceivedTime")),
                       _short_time(e.get("startTime")), _short_time(e.get("finishTime"))] for e in executions])
    print(f"{_cell(summary.get('totalExecutions'))} execution(s) of actor {summary.get('actorId', args.actor)}; "
          f"total runtime {_cell(summary.get('totalRuntime'))} s, cpu {_cell(summary.get('totalCpu'))} ns, "
          f"io {_cell(summary.get('totalIo'))} bytes")
    return 0


# -- logs ------------------------------------------------------------------------------

def _add_logs_arguments(parser: argparse.ArgumentParser) -> None:
    _describe(parser)
    parser.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    parser.add_argument("execution", metavar="EXECUTION", help="execution id")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new log text until the execution is COMPLETE or ERROR "
                             "(Ctrl-C stops following)")
    _add_target_arguments(parser)


@_everyday
def _run_logs(args: argparse.Namespace, actors: object) -> int:
    if not args.follow:
        result = actors.getExecutionLogs(actorId=args.actor, executionId=args.execution)
        if _option(args, "json"):
            _print_json(result)
        else:
            _write_log_text(result.get("logs") or "")
        return 0
    shown = ""

    def new_text_until_finished() -> dict | None:
        """Print what the logs gained since the last poll; the logs once the execution has ended."""
        nonlocal shown
        status = actors.getExecution(actorId=args.actor, executionId=args.execution).get("status")
        result = actors.getExecutionLogs(actorId=args.actor, executionId=args.execution)
        text = result.get("logs") or ""
        if not _option(args, "json"):
            # Logs only grow; text that does not continue what was shown is printed whole.
            _write_log_text(text[len(shown):] if text.startswith(shown) else text)
        shown = text
        return result if status in FINISHED else None

    try:
        result = _poll(new_text_until_finished, None)
        if _option(args, "json"):
            _print_json(result)
    except KeyboardInterrupt:  # the usual way to stop following
        pass
    return 0


def _write_log_text(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


COMMANDS: list[Command] = [
    Command("serve", "serve the Abaco v2 REST API over HTTP", _add_serve_arguments, _run_serve),
    Command("demo", "register an actor, send it messages, print executions, logs and results",
            _add_demo_arguments, _run_demo),
    Command("actors", "list, register, show and delete actors (ls, add, show, rm)",
            _add_actors_arguments, _run_actors),
    Command("send", "send an actor a message; --wait prints the execution's status and logs",
            _add_send_arguments, _run_send),
    Command("executions", "list an actor's executions, or show one", _add_executions_arguments, _run_executions),
    Command("logs", "print the logs of an execution; --follow until it ends", _add_logs_arguments, _run_logs),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abaco-emulator",
                                     description="TACC's Abaco actors service, reproduced on one machine.")
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
    return args.run(args)
