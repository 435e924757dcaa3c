"""Every operation of the actors API, once: the table the rest of the package is built from.

A row says what an operation is (its agavepy name, method and path below a dialect's
prefix), what it needs (the record it acts on and the permission level on it), what it
reads (its body, its query parameters) and what it answers (the kind of result a
dialect renders, the envelope's message). The HTTP routes, the OpenAPI document, the
in-process facade's error URLs, the CLI's HTTP client and the words an alias may not
be are all derived from it, so adding an operation is one row here plus one method of
`ActorsService` named by the row's `service`. Transports call `perform`.

Paths use `{name}` placeholders. `target` names what the path's identifier is and
what `perform` has the service resolve and authorize before the method runs:

- "actor": `{actor_id}` is an actor id or alias; `level` is needed on the actor;
- "alias": `{alias}` is an alias; the level is needed on the alias;
- "alias_nonces": an alias's nonces: the level is needed on the alias and on its actor;
- "config": `{config_name}` is an actor config's name; the level is needed on the config;
- None: no record is named (listings filter what the caller may see; creating an
  alias checks the actor its body names).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, cast

from .auth import Caller
from .models import RESERVED_ALIASES, Level, Reply

if TYPE_CHECKING:
    from .service import ActorsService

# Where the operations Abaco does not have are served (what tests and tools need of an
# emulator: live logs, the test clock).
EMULATOR_PREFIX = "/emulator/v1"

# Query parameters an operation reads, by group: a listing turned into a search by any
# query parameter but a lone x-nonce (Abaco's ActorsResource.get), the search route, a
# message (whose other parameters become the execution's environment).
SEARCHABLE = ("params", "q")
MESSAGE = ("_abaco_synchronous", "x-nonce")


@dataclass(frozen=True)
class Operation:
    """One operation of the API."""

    name: str                   # agavepy's method name (the emulator's own where agavepy has none)
    method: str                 # HTTP method
    path: str                   # below the prefix, with {placeholders}
    service: str                # the ActorsService method that performs it ("configs.x": of service.configs)
    summary: str                # one line, for the OpenAPI document
    result: str                 # what a dialect renders: "actor", "actors", "raw", "none", ...
    target: str | None = None   # what the path names (see the module docstring)
    level: Level | None = None  # needed on the target
    body: str | None = None     # its body: a body of `forms.py`/`schemas.py`, "message" or "state"
    query: tuple[str, ...] = ()  # the query parameters it reads
    message: str = "The request was successful"
    public: bool = False        # answered without credentials
    also: tuple[str, ...] = ()  # other names of it (agavepy's sendBinaryMessage is a sendMessage)
    emulator_only: bool = False  # not Abaco's: served under EMULATOR_PREFIX, not a dialect's prefixes
    admin: bool = False         # Abaco's admin routes: the admin role only

    @property
    def parameters(self) -> tuple[str, ...]:
        """The names of its path placeholders, in order."""
        return tuple(re.findall(r"{([a-z_]+)}", self.path))


READ, EXECUTE, UPDATE = Level.READ, Level.EXECUTE, Level.UPDATE

OPERATIONS: tuple[Operation, ...] = (
    Operation("list", "GET", "", "list_actors", "List the actors the caller can read (any query parameter: a search)",
              "actors", query=SEARCHABLE, message="Actors retrieved successfully."),
    Operation("add", "POST", "", "add_actor", "Register an actor", "actor", body="Actor",
              message="Actor created successfully."),
    Operation("getOpenApi", "GET", "/openapi.json", "openapi", "This document (no credentials needed)",
              "document", public=True),
    Operation("utilization", "GET", "/utilization", "utilization", "What the service holds (any user)",
              "utilization", target=None, message="Abaco utilization returned successfully."),
    Operation("adminActors", "GET", "/admin", "admin_actors", "Every actor, with workers and counts (admins)",
              "admin", admin=True, message="Actors retrieved successfully."),
    Operation("adminWorkers", "GET", "/admin/workers", "admin_workers", "Every worker, with a summary (admins)",
              "admin", admin=True, message="Workers retrieved successfully."),
    Operation("adminExecutions", "GET", "/admin/executions", "admin_executions",
              "Execution totals per actor (admins)", "admin", admin=True,
              message="Executions retrieved successfully."),
    Operation("listAliases", "GET", "/aliases", "list_aliases", "List aliases", "aliases",
              message="Aliases retrieved successfully."),
    Operation("addAlias", "POST", "/aliases", "add_alias", "Create an alias", "alias", body="AddAliasRequest",
              message="Actor alias created successfully."),
    Operation("getAlias", "GET", "/aliases/{alias}", "get_alias", "Get an alias", "alias",
              target="alias", level=READ, message="Alias retrieved successfully."),
    Operation("updateAlias", "PUT", "/aliases/{alias}", "update_alias", "Point an alias at another actor",
              "alias", target="alias", level=UPDATE, body="UpdateAliasRequest",
              message="Actor alias updated successfully."),
    Operation("deleteAlias", "DELETE", "/aliases/{alias}", "delete_alias", "Delete an alias", "none",
              target="alias", level=UPDATE),
    Operation("getAliasPermissions", "GET", "/aliases/{alias}/permissions", "get_permissions",
              "Get an alias's permissions", "permissions", target="alias", level=READ,
              message="Permissions retrieved successfully."),
    Operation("updateAliasPermissions", "POST", "/aliases/{alias}/permissions", "update_permissions",
              "Grant a permission level on an alias", "permissions", target="alias", level=UPDATE,
              body="PermissionsUpdateRequest", message="Permission added successfully."),
    Operation("listAliasNonces", "GET", "/aliases/{alias}/nonces", "list_nonces", "List the nonces of an alias",
              "nonces", target="alias_nonces", level=READ, message="Alias nonces retrieved successfully."),
    Operation("addAliasNonce", "POST", "/aliases/{alias}/nonces", "add_nonce", "Create a nonce for an alias",
              "nonce", target="alias_nonces", level=UPDATE, body="AddNonceRequest",
              message="Alias nonce created successfully."),
    Operation("getAliasNonce", "GET", "/aliases/{alias}/nonces/{nonce_id}", "get_nonce",
              "Get a nonce of an alias", "nonce", target="alias_nonces", level=READ,
              message="Alias nonce retrieved successfully."),
    Operation("deleteAliasNonce", "DELETE", "/aliases/{alias}/nonces/{nonce_id}", "delete_nonce",
              "Delete a nonce of an alias", "none", target="alias_nonces", level=UPDATE,
              message="Alias nonce deleted successfully."),
    Operation("listConfigs", "GET", "/configs", "configs.list_configs",
              "List the actor configs of the tenant (any user)", "configs",
              message="Actor Configs retrieved successfully."),
    Operation("addConfig", "POST", "/configs", "configs.add_config",
              "Create an actor config: name, value, isSecret, actors (comma-separated ids or aliases)",
              "config", body="ActorConfig", message="Actor config created successfully."),
    Operation("getConfig", "GET", "/configs/{config_name}", "configs.get_config",
              "Get an actor config (a secret's value is shown sealed)", "config", target="config", level=READ,
              message="Config retrieved successfully."),
    Operation("updateConfig", "PUT", "/configs/{config_name}", "configs.update_config",
              "Replace an actor config's value, isSecret and actors", "config", target="config", level=UPDATE,
              body="ActorConfigUpdate", message="Actor config updated successfully."),
    Operation("deleteConfig", "DELETE", "/configs/{config_name}", "configs.delete_config",
              "Delete an actor config", "none", target="config", level=UPDATE),
    Operation("getConfigPermissions", "GET", "/configs/{config_name}/permissions",
              "configs.get_config_permissions", "Get an actor config's permissions", "permissions",
              target="config", level=READ, message="Permissions retrieved successfully."),
    Operation("updateConfigPermissions", "POST", "/configs/{config_name}/permissions",
              "configs.update_config_permissions", "Grant a permission level on an actor config", "permissions",
              target="config", level=UPDATE, body="PermissionsUpdateRequest",
              message="Permission added successfully."),
    Operation("getSearch", "GET", "/search/{search_type}", "search",
              "Search actors, workers, executions or logs: search, exactsearch, field=value, field.<op>=value",
              "search", query=SEARCHABLE, message="Search completed successfully."),
    Operation("get", "GET", "/{actor_id}", "get_actor", "Get an actor", "actor", target="actor", level=READ,
              message="Actor retrieved successfully."),
    Operation("update", "PUT", "/{actor_id}", "update_actor", "Replace an actor's description", "actor",
              target="actor", level=UPDATE, body="Actor", message="Actor updated successfully."),
    Operation("delete", "DELETE", "/{actor_id}", "delete_actor", "Delete an actor", "none",
              target="actor", level=UPDATE, message="Actor deleted successfully."),
    Operation("getMessages", "GET", "/{actor_id}/messages", "get_messages", "Count the queued messages",
              "messages", target="actor", level=READ),
    Operation("sendMessage", "POST", "/{actor_id}/messages", "send_message",
              "Send a message (JSON, form field `message`, or application/octet-stream); other query "
              "parameters become environment variables", "message_sent", target="actor", level=EXECUTE,
              body="message", query=MESSAGE, also=("sendBinaryMessage",)),
    Operation("deleteMessages", "DELETE", "/{actor_id}/messages", "delete_messages", "Purge the mailbox",
              "purged", target="actor", level=UPDATE),
    Operation("getState", "GET", "/{actor_id}/state", "get_state", "Get an actor's state", "state",
              target="actor", level=READ, message="Actor state retrieved successfully."),
    Operation("updateState", "POST", "/{actor_id}/state", "update_state",
              "Replace a stateful actor's state (any JSON)", "actor", target="actor", level=UPDATE,
              body="state", message="State updated successfully."),
    Operation("getPermissions", "GET", "/{actor_id}/permissions", "get_permissions", "Get the permissions",
              "permissions", target="actor", level=READ, message="Permissions retrieved successfully."),
    Operation("updatePermissions", "POST", "/{actor_id}/permissions", "update_permissions",
              "Grant a permission level", "permissions", target="actor", level=UPDATE,
              body="PermissionsUpdateRequest", message="Permission added successfully."),
    Operation("listWorkers", "GET", "/{actor_id}/workers", "list_workers", "List workers", "workers",
              target="actor", level=READ, query=SEARCHABLE, message="Workers retrieved successfully."),
    Operation("addWorker", "POST", "/{actor_id}/workers", "add_workers",
              "Ensure at least `num` workers (admins only)", "none", target="actor", level=UPDATE,
              body="AddWorkersRequest"),
    Operation("getWorker", "GET", "/{actor_id}/workers/{worker_id}", "get_worker", "Get a worker", "worker",
              target="actor", level=READ, message="Worker retrieved successfully."),
    Operation("deleteWorker", "DELETE", "/{actor_id}/workers/{worker_id}", "delete_worker", "Stop a worker",
              "none", target="actor", level=UPDATE, message="Worker scheduled to be stopped."),
    Operation("listNonces", "GET", "/{actor_id}/nonces", "list_nonces", "List nonces", "nonces",
              target="actor", level=READ, message="Actor nonces retrieved successfully."),
    Operation("addNonce", "POST", "/{actor_id}/nonces", "add_nonce", "Create a nonce", "nonce",
              target="actor", level=UPDATE, body="AddNonceRequest", message="Actor nonce created successfully."),
    Operation("getNonce", "GET", "/{actor_id}/nonces/{nonce_id}", "get_nonce", "Get a nonce", "nonce",
              target="actor", level=READ, message="Actor nonce retrieved successfully."),
    Operation("deleteNonce", "DELETE", "/{actor_id}/nonces/{nonce_id}", "delete_nonce", "Delete a nonce", "none",
              target="actor", level=UPDATE, message="Actor nonce deleted successfully."),
    Operation("listExecutions", "GET", "/{actor_id}/executions", "list_executions", "Summary of the executions",
              "executions", target="actor", level=READ, query=SEARCHABLE,
              message="Actor executions retrieved successfully."),
    Operation("addExecution", "POST", "/{actor_id}/executions", "add_execution",
              "Abaco's execution accounting (it always answers 400 there: reproduced)", "none",
              target="actor", level=UPDATE, body="AddExecutionRequest"),
    Operation("getExecution", "GET", "/{actor_id}/executions/{execution_id}", "get_execution",
              "Get an execution", "execution", target="actor", level=READ,
              message="Actor execution retrieved successfully."),
    Operation("deleteExecution", "DELETE", "/{actor_id}/executions/{execution_id}", "delete_execution",
              "Force-quit a RUNNING execution", "none", target="actor", level=UPDATE),
    Operation("getExecutionLogs", "GET", "/{actor_id}/executions/{execution_id}/logs", "get_logs",
              "An execution's logs", "logs", target="actor", level=READ, query=("params",),
              message="Logs retrieved successfully."),
    Operation("getOneExecutionResult", "GET", "/{actor_id}/executions/{execution_id}/results", "pop_result",
              "Pop the oldest result: raw bytes, no envelope; empty when none are left", "raw",
              target="actor", level=READ),
    Operation("getLiveLogs", "GET", "/actors/{actor_id}/executions/{execution_id}/logs", "get_live_logs",
              "Emulator-only: what an execution has written so far, while it runs (Abaco shows logs once "
              "it ends), with its status; ?offset=N: only what follows the first N characters", "live_logs",
              target="actor", level=READ, query=("params",), emulator_only=True),
    Operation("overviewActors", "GET", "/actors", "overview_actors",
              "Emulator-only: one page of the actors, newest first, with workers, mailbox and last execution "
              "(skip, limit, owner, status, search)", "overview", query=("params",), emulator_only=True),
    Operation("overviewExecutions", "GET", "/actors/{actor_id}/executions", "overview_executions",
              "Emulator-only: one page of an actor's executions, newest first (skip, limit, status)", "overview",
              target="actor", level=READ, query=("params",), emulator_only=True),
    Operation("overviewExecution", "GET", "/actors/{actor_id}/executions/{execution_id}", "overview_execution",
              "Emulator-only: an execution with its timings, unread results and environment", "overview",
              target="actor", level=READ, emulator_only=True),
    Operation("peekResult", "GET", "/actors/{actor_id}/executions/{execution_id}/results/{index}", "peek_result",
              "Emulator-only: an unread result by its place, raw bytes, without popping it", "raw",
              target="actor", level=READ, emulator_only=True),
    Operation("getClock", "GET", "/clock", "get_clock", "Emulator-only: the emulator's clock (what advanceClock "
              "moved it by)", "clock", emulator_only=True, message="Clock retrieved successfully."),
    Operation("advanceClock", "POST", "/clock", "advance_clock", "Emulator-only: move the emulator's clock "
              "forward; every cron execution and log expiry due in the span happens first", "clock",
              body="AdvanceClockRequest", emulator_only=True, message="Clock advanced successfully."),
)

BY_NAME: dict[str, Operation] = {name: op for op in OPERATIONS for name in (op.name, *op.also)}

# The words of fixed first path segments: `/actors/v2/aliases` is never an actor
# named "aliases", so no alias may be one of them.
ROUTE_WORDS = frozenset({op.path.split("/")[1] for op in OPERATIONS
                         if op.path and not op.path.split("/")[1].startswith("{") and not op.emulator_only})
# The v2 routes are served under `/actors` too, where `/actors/v2/...` is the longer
# prefix: there "v2" is not an actor either.
VERSION_WORDS = frozenset({"v2"})

# What an alias may not be: Abaco's reserved words and every word a path gives a meaning.
RESERVED_WORDS = RESERVED_ALIASES | ROUTE_WORDS | VERSION_WORDS


def operation(name: str) -> Operation:
    return BY_NAME[name]


def answer(op: Operation, result: Any) -> tuple[Any, str, str]:
    """A result, its envelope message and its kind: the operation's, unless it says otherwise."""
    if isinstance(result, Reply):
        return result.result, result.message, result.kind or op.result
    return result, op.message, op.result


def werkzeug_path(path: str) -> str:
    """A table path in Flask's rule syntax (`{actor_id}` -> `<actor_id>`)."""
    return re.sub(r"{([a-z_]+)}", r"<\1>", path)


def perform(service: "ActorsService", op: Operation, caller: Caller, path: dict[str, str] | None = None,
            body: Callable[[], Any] | None = None, **arguments: Any) -> Any:
    """Perform `op` for `caller`: the service authorizes what `path` names (the parameter
    naming it is used up: give a dict of this call's own), then the `body` is read (a
    callable: the transport's dialect parses it, after the authorization, as Abaco's
    handlers parse theirs) and the operation's method runs."""
    parameters = {} if path is None else path
    access = service.authorize(op.target, op.level, caller, parameters, op.admin,
                               None if op.emulator_only else op.path)
    if body is not None:
        arguments["body"] = body()
    method: Callable[..., Any] = functools.reduce(getattr, op.service.split("."), cast(Any, service))
    if arguments:
        parameters.update(arguments)
    return method(access, **parameters)
