"""Where the actors are: the --url/--db options, opening and closing what they name, and
the `everyday` wrapper that turns every failure of a command into one line on stderr.

The everyday commands (actors, send, executions, logs) are each written once against an
object with agavepy's `actors` method names: for --url a `RemoteActors` (HTTP), for --db
the `actors` of an in-process emulator. They only parse arguments and render answers;
every rule stays in the service.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, cast
from urllib.parse import urlsplit

from . import waits

if TYPE_CHECKING:
    import requests

    from ..attrdict import AttrDict
    from ..emulator import AbacoEmulator
    from ..remote import RemoteActors

ENV_URL = "ABACO_URL"
ENV_TOKEN = "ABACO_TOKEN"

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


class Actors(Protocol):
    """What the commands call: agavepy's `actors` methods, as `RemoteActors` and the in-process
    facade both offer them."""

    def list(self) -> list[AttrDict]: ...
    def add(self, body: Any = ...) -> AttrDict: ...
    def get(self, actorId: str) -> AttrDict: ...
    def update(self, actorId: str, body: Any = ...) -> AttrDict: ...
    def delete(self, actorId: str) -> None: ...
    def sendMessage(self, actorId: str, body: Any = ..., environment: dict[str, Any] | None = ...) -> AttrDict: ...
    def sendBinaryMessage(self, actorId: str, message: bytes = ...,
                          environment: dict[str, Any] | None = ...) -> AttrDict: ...
    def listExecutions(self, actorId: str) -> AttrDict: ...
    def getExecution(self, actorId: str, executionId: str) -> AttrDict: ...
    def getExecutionLogs(self, actorId: str, executionId: str) -> AttrDict: ...


def option(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option that may be given at the group level (`actors --json ls`) or the leaf level."""
    return getattr(args, name, default)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--url/--token/--db/--runner/--json; defaults are suppressed so any level may set them."""
    add_connection_only(parser.add_argument_group("where the actors are (give --url or --db)"))
    parser.add_argument("--json", dest="json", action="store_true", default=argparse.SUPPRESS,
                        help="print the raw JSON of the result (for scripts)")


def add_connection_only(group: argparse._ArgumentGroup) -> None:
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


def describe(parser: argparse.ArgumentParser) -> None:
    """Explain --url and --db under the command's help."""
    parser.epilog = _TARGET_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def key_values(pairs: list[str], what: str) -> dict[str, str]:
    """`K=V` strings (--env, --local-command) as a dict; a pair without `=` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid {what} {pair!r}: expected KEY=VALUE")
        out[key] = value
    return out


@dataclass
class Target:
    """The actors object a command works on, and how to close it: the emulator that has a
    --db file open, or (without one) a `RemoteActors` for --url."""

    actors: Actors
    where: str
    emulator: AbacoEmulator | None = None
    url: str | None = None


def _server_url(args: argparse.Namespace) -> str | None:
    """The --url (or $ABACO_URL) of a server, or None for a --db file; a usage error unless exactly one."""
    url, db = option(args, "url"), option(args, "db")
    if url and db:
        raise UsageError("give either --url (a running server) or --db (a database file), not both")
    if not url and not db:
        url = os.environ.get(ENV_URL) or None
    if not url and not db:
        raise UsageError(f"where are the actors? Give --url http://127.0.0.1:5000 (or set {ENV_URL}) for a "
                         "running `abaco-emulator serve`, or --db FILE to open a database file in this process")
    if url and not str(url).startswith(("http://", "https://")):
        raise UsageError(f"invalid --url {url!r}: expected http://HOST:PORT, e.g. http://127.0.0.1:5000")
    if url and (option(args, "runner") or option(args, "local_command")):
        raise UsageError("--runner and --local-command are for --db: a server at --url runs its own executions")
    return url


def open_target(args: argparse.Namespace) -> Target:
    url = _server_url(args)
    if url:
        from ..remote import RemoteActors

        token = option(args, "token") or os.environ.get(ENV_TOKEN) or None
        return Target(RemoteActors(url, token), where=url, url=url)
    return _open_database(args, option(args, "db"))


def _open_database(args: argparse.Namespace, db: str) -> Target:
    from ..emulator import AbacoEmulator

    runner = option(args, "runner") or "docker"
    commands = {image: shlex.split(command)
                for image, command in key_values(option(args, "local_command") or [], "--local-command").items()}
    if commands and runner != "local":
        raise UsageError("--local-command needs --runner local")
    for image, command in commands.items():
        if not command:
            raise UsageError(f"invalid --local-command for {image}: the command is empty")
    emulator = AbacoEmulator(db_path=db, runner=runner, advice="cli")  # StoreLocked while a server has it open
    try:
        for image, command in commands.items():
            emulator.register_image(image, command=command)
        _settle(emulator, set(commands))
    except BaseException:
        close_target(Target(emulator.actors, db, emulator), graceful=False)
        raise
    return Target(emulator.actors, where=db, emulator=emulator)


def _settle(emulator: AbacoEmulator, local_images: set[str], timeout: float = 10.0) -> None:
    """Wait (briefly) until the reopened actors' workers have started or failed.

    Opening a database file restarts every actor (status SUBMITTED) in the background;
    without this, a listing made at once would show them all as SUBMITTED.
    """
    def settled() -> bool:
        return not any(a["status"] == "SUBMITTED" or (a["status"] == "ERROR" and a["image"] in local_images)
                       for a in emulator.store.all("actors"))

    waits.until(settled, timeout, interval=0.02)


def close_target(target: Target, graceful: bool = True) -> None:
    """Close what `open_target` opened; an emulator first lets running executions finish
    (what is queued stays queued in the file)."""
    if target.emulator is None:
        cast("RemoteActors", target.actors).close()
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


def abaco_message(error: requests.HTTPError) -> str:
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


def everyday(run: Callable[[argparse.Namespace, Actors], int]) -> Callable[[argparse.Namespace], int]:
    """Open the target, run the command on its actors, close the target; every failure
    becomes one line on stderr."""
    def on_actors(args: argparse.Namespace, target: Target) -> int:
        return run(args, target.actors)

    wrapper = on_target(on_actors)
    wrapper.__name__ = run.__name__
    wrapper.__doc__ = run.__doc__
    return wrapper


def on_target(run: Callable[[argparse.Namespace, Target], int]) -> Callable[[argparse.Namespace], int]:
    """`everyday` for a command that needs the whole target (the emulator of a --db file)."""
    def wrapper(args: argparse.Namespace) -> int:
        import requests

        from ..errors import EmulatorError

        name = " ".join(["abaco-emulator", args.command] + ([args.actors_command]
                                                             if getattr(args, "actors_command", None) else []))
        target, graceful = None, True
        try:
            try:
                target = open_target(args)
                return run(args, target)
            except KeyboardInterrupt:
                graceful = False  # Ctrl-C: force-quit what runs, do not wait for it
                raise
            finally:
                if target is not None:
                    close_target(target, graceful)
        except CommandError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return exc.exit_status
        except requests.HTTPError as exc:
            print(f"{name}: {abaco_message(exc)}", file=sys.stderr)
            return 1
        except requests.ConnectionError as exc:
            url = target.url if target is not None and target.url else "the given URL"
            port = urlsplit(url).port or 5000
            detail = "connection refused" if "refused" in str(exc).lower() else "no answer"
            print(f"{name}: the server at {url} does not answer ({detail}). Start one with "
                  f"`abaco-emulator serve --port {port}` (add `&` to keep it in the background), or work "
                  "on a database file without a server with --db FILE.", file=sys.stderr)
            return 1
        except requests.Timeout:
            server = target.url if target is not None and target.url else ""
            print(f"{name}: the server at {server} took too long to answer", file=sys.stderr)
            return 1
        except requests.RequestException as exc:
            print(f"{name}: the request failed: {exc}", file=sys.stderr)
            return 1
        except EmulatorError as exc:  # a damaged database file, no Docker engine (its advice is the CLI's), ...
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # stdout closed (`| head`): cli.main ends quietly
            raise
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
