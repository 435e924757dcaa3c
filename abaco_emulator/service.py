"""The Abaco actors service: one method per operation, every rule of the API.

Transports reach it through `operations.perform`, which first has `authorize` resolve
and check the record an operation's path names (its target, at its level), then calls
the method the operation names with the resulting `Access`. Methods take and return
plain snake_case records (no envelope, no `_links`, no key case) or raise an
`AbacoError` carrying the status code the real service sends; the transport's dialect
renders them.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, TypeVar

from . import models
from .auth import DEFAULT_TENANT, Caller
from .contract import Message
from .engine import Engine
from .errors import AbacoError, BadRequest, NotFound, PermissionDenied
from .models import (ABACO_WORLD, ActorRecord, AliasRecord, ExecutionRecord, Level, NonceRecord,
                     WorkerRecord)
from .query import SEARCH_TYPES, mongo_filter, paginate, search_filter
from .schemas import check_json
from .store import Collection, Store

NOT_AUTHORIZED = "Not authorized -- you do not have access to this actor."
MAX_WORKERS_PER_ACTOR = 50
_PRIVILEGED_FIELDS = {
    "privileged": "make privileged actors",
    "max_workers": "set max workers",
    "max_cpus": "set max CPUs",
    "mem_limit": "set memory limits",
    "queue": "set the queue",
}
# Keys of an actor description that a caller may send but never sets.
_NOT_SETTABLE = ("id", "owner", "status", "force", "state", "revision", "create_time", "last_update_time",
                 "status_message", "db_id", "tenant")


@dataclass
class ServiceOptions:
    """Settings of one emulator that change what the service allows."""

    tenant: str = DEFAULT_TENANT
    api_server: str = "http://127.0.0.1:5000"
    allow_privileged: bool = False
    allow_mounts: bool = False
    # What an alias may not be: Abaco's reserved words, and the words a transport's
    # paths give a meaning (`operations.RESERVED_WORDS`).
    reserved_aliases: frozenset[str] = models.RESERVED_ALIASES


class Access(NamedTuple):
    """An authorized request: who asked, who acts, and the records its path names.

    A NamedTuple: one is made per request, and a tuple is the cheapest record to make."""

    requester: Caller                  # who sent the request
    caller: Caller                     # who acts: the requester, or the owner of the nonce used
    identifier: str | None             # the actor id or alias as the path gave it
    # The actor it names. Read on every request, so a field, not a checked property: the
    # methods of operations that name no actor (`NO_ACTOR`) never read it.
    actor: ActorRecord
    alias: AliasRecord | None = None   # the alias it names, on alias routes

    @property
    def by_alias(self) -> bool:
        """Whether the path named the actor by an alias."""
        return self.identifier != self.actor["id"]


# What `Access.actor` is for operations that name no actor (creating or listing actors,
# aliases, search): a record with no fields, never read.
NO_ACTOR: ActorRecord = {}  # type: ignore[typeddict-item]


class ActorsService:
    """Every operation of the Abaco actors API over one store and one engine."""

    def __init__(self, store: Store, engine: Engine, options: ServiceOptions) -> None:
        self.store = store
        self.engine = engine
        self.options = options

    # -- authorization of what a path names --------------------------------------------
    def authorize(self, target: str | None, level: Level | None, caller: Caller, path: dict[str, str]) -> Access:
        """Resolve and authorize the record a path names (`target`, see operations.py) at
        `level`; the path parameter that named it is used up."""
        if target is None or level is None:
            return Access(caller, caller, None, NO_ACTOR)
        if target == "alias":
            alias = path.pop("alias")
            record = self._alias_record(alias)
            return Access(caller, self._authorize(caller, alias, alias, level), alias, NO_ACTOR, record)
        identifier = path.pop("alias" if "alias" in path else "actor_id")
        actor = self._actor(identifier)
        resource = actor["id"]
        if target == "nonces" and identifier != actor["id"]:
            resource = identifier  # an alias's nonces: the level is needed on the alias
        return Access(caller, self._authorize(caller, identifier, resource, level), identifier, actor)

    # -- identifiers and permissions -------------------------------------------------
    def _actor(self, identifier: str) -> ActorRecord:
        """The actor an id or alias names."""
        if not isinstance(identifier, str) or not identifier:
            raise BadRequest("An actor id or alias is required.")
        actor = self.store.actors.get(identifier)
        if actor is not None:
            return actor
        alias = self.store.aliases.get(identifier)
        if alias is not None:
            actor = self.store.actors.get(alias["actor_id"])
            if actor is None:
                raise NotFound(f"Alias {identifier} points to actor {alias['actor_id']}, which no longer exists.")
            return actor
        if models.looks_like_id(identifier):
            raise BadRequest(f"Actor does not exist: {identifier}.")
        raise NotFound(f"No actor or alias found with identifier {identifier}.")

    def level_of(self, username: str, resource: str) -> Level:
        """The highest level `username` holds on an actor or alias (directly or via ABACO_WORLD)."""
        best = Level.NONE
        for record in self.store.permissions.by_actor(resource):
            if record["user"] in (username, ABACO_WORLD):
                best = max(best, Level.parse(record["level"]))
        return best

    def _authorize(self, caller: Caller, identifier: str, resource: str, needed: Level) -> Caller:
        """Check `caller` may act on `resource` at `needed`; returns who acts (nonce owner)."""
        if caller.nonce is not None:
            return self._redeem_nonce(caller.nonce, identifier, needed)
        if caller.is_admin or self.level_of(caller.username, resource) >= needed:
            return caller
        raise PermissionDenied(NOT_AUTHORIZED)

    def _redeem_nonce(self, nonce_id: str, identifier: str, needed: Level) -> Caller:
        with self.store.transaction():
            nonce = self.store.nonces.get(nonce_id) if isinstance(nonce_id, str) else None
            if nonce is None:
                raise BadRequest("Nonce does not exist.")
            if identifier != (nonce.get("alias") or nonce["actor_id"]):
                raise BadRequest(f"Nonce {nonce_id} was not made for {identifier}.")
            if Level.parse(nonce["level"]) < needed:
                raise BadRequest("Nonce does not have sufficient permissions level.")
            if nonce["max_uses"] != -1 and nonce["remaining_uses"] <= 0:
                raise BadRequest("No remaining uses left for this nonce.")
            self.store.nonces.update(nonce_id, {
                "current_uses": nonce["current_uses"] + 1,
                "remaining_uses": -1 if nonce["max_uses"] == -1 else nonce["remaining_uses"] - 1,
                "last_use_time": models.now(),
            })
        return Caller(nonce["owner"], frozenset(nonce.get("roles") or ()), self.options.tenant)

    def _can_see(self, caller: Caller, resource: str) -> bool:
        return caller.is_admin or self.level_of(caller.username, resource) > Level.NONE

    # -- actors ----------------------------------------------------------------------
    def list_actors(self, access: Access, limit: int | None = None, skip: int = 0,
                    q: Any = None) -> list[ActorRecord]:
        matches = mongo_filter(q) if q is not None else None
        actors = [a for a in self.store.actors.all() if self._can_see(access.caller, a["id"])]
        if matches is not None:
            actors = [a for a in actors if matches(a)]
        return paginate(actors, skip, limit)

    def add_actor(self, access: Access, body: dict[str, Any]) -> ActorRecord:
        caller = access.caller
        if caller.nonce is not None:
            raise PermissionDenied("Nonces cannot be used to register actors.")
        fields = self._actor_fields(caller, body, existing=None)
        moment = models.now()
        actor_id = models.new_id()
        record: dict[str, Any] = {
            "id": actor_id,
            "db_id": f"{self.options.tenant}_{actor_id}",
            "name": fields.pop("name", None),
            "image": fields.pop("image"),
            "owner": caller.username,
            "status": models.SUBMITTED,
            "status_message": "",
            "revision": 1,
            "create_time": moment,
            "last_update_time": moment,
            "tenant": self.options.tenant,
            **fields,
        }
        record["state"] = None if record["stateless"] else {}
        with self.store.transaction():
            self.store.insert("actors", record)
            self._grant(actor_id, caller.username, Level.UPDATE)
        answer: ActorRecord = dict(record)  # type: ignore[assignment]  # as registered: SUBMITTED
        self.engine.start_actor(actor_id)
        return answer

    def _actor_fields(self, caller: Caller, body: dict[str, Any], existing: ActorRecord | None) -> dict[str, Any]:
        """The checked snake_case description of an actor (defaults filled in)."""
        given = {key: value for key, value in body.items() if key not in _NOT_SETTABLE}
        image = given.get("image")
        if not isinstance(image, str) or not image.strip():
            raise BadRequest("Invalid actor description: field 'image' is required (the Docker image to run).")
        fields = models.actor_defaults()
        fields.update({k: v for k, v in given.items() if k in fields or k in ("image", "name")})
        if existing is not None:
            fields["name"] = existing.get("name")
            # As in Abaco, a PUT is the whole description: an omitted `stateless` is the
            # default (true), so a stateful actor must say `"stateless": false` again.
            if not existing["stateless"] and fields["stateless"]:
                raise BadRequest("Invalid actor description: an actor that was not stateless cannot be "
                                 "updated to be stateless. Send \"stateless\": false with the update.")
            if existing["stateless"] and not fields["stateless"]:
                raise BadRequest("Invalid actor description: a stateless actor cannot be updated to be "
                                 "stateful; register a new actor instead.")
        if isinstance(fields["token"], bool):
            fields["token"] = "true" if fields["token"] else "false"
        if fields["token"] not in ("true", "false"):
            raise BadRequest("Invalid actor description: field 'token' must be true or false.")
        defaults = models.actor_defaults()
        for name, what in _PRIVILEGED_FIELDS.items():
            if fields[name] not in (defaults[name], None, False) and not caller.is_privileged:
                raise PermissionDenied(f"Not authorized -- only admins and privileged users can {what}.")
        if fields["privileged"] and not self.options.allow_privileged:
            raise BadRequest("Privileged actors are disabled in this emulator; "
                             "create it with allow_privileged=True to allow them.")
        if fields["mounts"] and not self.options.allow_mounts:
            raise BadRequest("Host mounts are disabled in this emulator; "
                             "create it with allow_mounts=True to allow them.")
        if not fields["stateless"] and fields["max_workers"] not in (None, 1):
            raise BadRequest("stateful actors can only have 1 worker.")
        for key, value in fields["default_environment"].items():
            _check_variable(key, value, "defaultEnvironment")
        if fields["link"]:
            self._check_link(caller, fields["link"], existing["id"] if existing else None)
        return fields

    def _check_link(self, caller: Caller, link: str, actor_id: str | None) -> None:
        target: ActorRecord | None = self._actor(link)
        assert target is not None
        if not (caller.is_admin or self.level_of(caller.username, target["id"]) >= Level.EXECUTE):
            raise PermissionDenied(f"Not authorized -- you do not have EXECUTE access to the linked actor {link}.")
        seen = {actor_id} if actor_id else set()
        while target is not None:
            if target["id"] in seen:
                raise BadRequest("Error: this update would result in a cycle of linked actors.")
            seen.add(target["id"])
            target = self._actor(target["link"]) if target.get("link") else None

    def get_actor(self, access: Access) -> ActorRecord:
        return access.actor

    def update_actor(self, access: Access, body: dict[str, Any]) -> ActorRecord:
        actor = access.actor
        force = body.get("force") is True
        fields = self._actor_fields(access.caller, body, existing=actor)
        restart = force or fields["image"] != actor["image"]
        fields["last_update_time"] = models.now()
        if restart:
            fields["revision"] = actor["revision"] + 1
        updated = self.store.actors.update(actor["id"], fields)
        if restart:
            updated = self.engine.restart_actor(actor["id"]) or updated
        return updated

    def delete_actor(self, access: Access) -> None:
        actor_id = access.actor["id"]
        self.engine.remove_actor(actor_id)
        with self.store.transaction():
            for kind in ("messages", "logs", "results", "permissions", "nonces", "workers"):
                for record in self.store.by_actor(kind, actor_id):
                    self.store.delete(kind, self.store.key_of(kind, record))
            self.store.actors.delete(actor_id)
        return None

    # -- messages --------------------------------------------------------------------
    def get_messages(self, access: Access) -> dict[str, Any]:
        actor = access.actor
        return {"messages": self.engine.queued(actor["id"]), "actor_id": actor["id"], "owner": actor["owner"]}

    def delete_messages(self, access: Access) -> dict[str, Any]:
        self.engine.purge(access.actor["id"])
        return {"msg": "Actor mailbox purged."}

    def send_message(self, access: Access, message: Message,
                     environment: Mapping[str, Any] | None = None) -> dict[str, Any]:
        actor = access.actor
        environment = dict(environment or {})
        for key, value in environment.items():
            _check_variable(key, value, "environment")
        execution_id = models.new_id()
        execution: ExecutionRecord = {
            "id": execution_id,
            "actor_id": actor["id"],
            "api_server": self.options.api_server,
            "executor": access.caller.username,
            "worker_id": None,
            "status": models.SUBMITTED,
            "message_received_time": models.now(),
            "start_time": None,
            "finish_time": None,
            "runtime": 0,
            "cpu": 0,
            "io": 0,
            "exit_code": None,
            "final_state": None,
        }
        with self.store.transaction():
            current = self.store.actors.get(actor["id"])
            if current is None or current["status"] == models.SHUTTING_DOWN:  # deleted meanwhile
                raise NotFound(f"No actor or alias found with identifier {access.identifier}.")
            self.store.executions.insert(execution)
            self.store.messages.insert({"id": execution_id, "actor_id": actor["id"], "message": message.to_record(),
                                        "environment": {str(k): str(v) for k, v in environment.items()}})
        self.engine.notify(actor["id"], execution_id)
        return {"execution_id": execution_id, "actor_id": actor["id"], "owner": actor["owner"],
                "msg": message.shown}

    def synchronous_answer(self, execution_id: str, timeout: float | None) -> tuple[bytes, str]:
        """Wait for an execution just sent; its first result, or its logs when it sent none.

        The caller was authorized (and any nonce redeemed) by `send_message`, so this
        must not check again."""
        self.engine.wait_for(execution_id, timeout)
        results = self.store.results.get(execution_id)
        if results and results["items"]:
            return self._pop_result(execution_id), "application/octet-stream"
        logs = self.store.logs.get(execution_id)
        return (logs["logs"] if logs else "").encode("utf-8"), "text/plain; charset=utf-8"

    # -- state -----------------------------------------------------------------------
    def get_state(self, access: Access) -> dict[str, Any]:
        if access.actor["stateless"]:
            raise NotFound("actor is stateless.")
        return {"state": access.actor.get("state")}

    def update_state(self, access: Access, body: Any) -> ActorRecord:
        actor = access.actor
        if actor["stateless"]:
            raise NotFound("actor is stateless.")
        check_json(body, "state")
        return self.store.actors.update(actor["id"], {"state": body})

    # -- permissions -----------------------------------------------------------------
    def _grant(self, resource: str, user: str, level: Level) -> None:
        self.store.permissions.delete(f"{resource}:{user}")
        self.store.permissions.insert({"id": f"{resource}:{user}", "actor_id": resource,
                                       "user": user, "level": level.name})

    def _permissions_map(self, resource: str) -> dict[str, str]:
        return {r["user"]: r["level"] for r in self.store.permissions.by_actor(resource)}

    def get_permissions(self, access: Access) -> dict[str, str]:
        return self._permissions_map(access.actor["id"])

    def update_permissions(self, access: Access, body: dict[str, Any]) -> dict[str, str]:
        user, level = self._permission_request(body)
        self._grant(access.actor["id"], user, level)
        return self._permissions_map(access.actor["id"])

    @staticmethod
    def _permission_request(body: dict[str, Any]) -> tuple[str, Level]:
        user, level = body.get("user"), body.get("level")
        if not user or not user.strip():
            raise BadRequest("Invalid permission request: field 'user' is required.")
        if not level:
            raise BadRequest("Invalid permission request: field 'level' is required.")
        try:
            return user, Level.parse(level)
        except ValueError:
            raise BadRequest(f"Invalid permission request: {level!r} is not a permission level; "
                             "use one of NONE, READ, EXECUTE, UPDATE.") from None

    # -- workers ---------------------------------------------------------------------
    def list_workers(self, access: Access) -> list[WorkerRecord]:
        return self.store.workers.by_actor(access.actor["id"])

    def add_workers(self, access: Access, body: dict[str, Any]) -> None:
        actor = access.actor
        num = body.get("num", 1)
        if num is None or num < 1:
            raise BadRequest("Invalid workers request: field 'num' must be at least 1.")
        if not access.caller.is_admin:
            raise PermissionDenied("Not authorized -- only admins can add workers.")
        current = self.store.workers.count_by_actor(actor["id"])
        if current + num > MAX_WORKERS_PER_ACTOR:  # each is a thread (or a container) on this machine
            raise BadRequest(f"Actor {actor['id']} may have at most {MAX_WORKERS_PER_ACTOR} workers in this "
                             f"emulator and has {current}.")
        if not actor["stateless"] and current + num > 1:
            raise BadRequest("stateful actors can only have 1 worker.")
        if actor.get("max_workers") and current + num > actor["max_workers"]:
            raise BadRequest(f"Actor {actor['id']} may have at most {actor['max_workers']} workers "
                             f"and has {current}.")
        self.engine.add_workers(actor["id"], num)
        return None

    def get_worker(self, access: Access, worker_id: str) -> WorkerRecord:
        return self._worker(access.actor, worker_id)

    def _worker(self, actor: ActorRecord, worker_id: str) -> WorkerRecord:
        return _of_actor(self.store.workers, worker_id, actor, NotFound, "Worker not found.")

    def delete_worker(self, access: Access, worker_id: str) -> None:
        self._worker(access.actor, worker_id)
        self.engine.stop_worker(worker_id)
        return None

    # -- nonces (of an actor, or of an alias: `access.by_alias`) --------------------------
    def list_nonces(self, access: Access) -> list[NonceRecord]:
        nonces = self.store.nonces.by_actor(access.actor["id"])
        return [n for n in nonces if (n.get("alias") == access.identifier) == access.by_alias]

    def add_nonce(self, access: Access, body: dict[str, Any]) -> NonceRecord:
        actor, requester = access.actor, access.requester
        try:
            level = Level.parse(body.get("level", "EXECUTE"))
        except ValueError:
            raise BadRequest(f"Invalid nonce request: {body.get('level')!r} is not a permission level; "
                             "use one of READ, EXECUTE, UPDATE.") from None
        if level == Level.NONE:
            raise BadRequest("Invalid nonce request: a nonce must grant READ, EXECUTE or UPDATE.")
        if access.by_alias and level == Level.UPDATE:
            raise BadRequest("Invalid nonce request: nonces for aliases cannot be UPDATE level.")
        max_uses = body.get("max_uses", -1)
        if max_uses == 0 or max_uses < -1:
            raise BadRequest("Invalid nonce request: field 'maxUses' must be a positive integer "
                             "or -1 for unlimited uses.")
        description = body.get("description", "")
        if not isinstance(description, str):
            raise BadRequest("Invalid nonce request: field 'description' must be a string.")
        if not requester.is_admin and requester.nonce is None \
                and self.level_of(requester.username, actor["id"]) < level:
            raise PermissionDenied(f"Not authorized -- you cannot create a {level.name} nonce "
                                   "with a lower permission level on this actor.")
        nonce: NonceRecord = {
            "id": f"{self.options.tenant}_{models.new_id()}",
            "actor_id": actor["id"],
            "alias": access.identifier if access.by_alias else None,
            "owner": access.caller.username,  # a nonce made with a nonce is its owner's: the request runs as them
            "roles": sorted(access.caller.roles),
            "level": level.name,
            "max_uses": max_uses,
            "current_uses": 0,
            "remaining_uses": max_uses,
            "description": description,
            "create_time": models.now(),
            "last_use_time": None,
        }
        self.store.nonces.insert(nonce)
        return nonce

    def _nonce(self, actor: ActorRecord, nonce_id: str) -> NonceRecord:
        return _of_actor(self.store.nonces, nonce_id, actor, BadRequest, "Nonce not found.")

    def get_nonce(self, access: Access, nonce_id: str) -> NonceRecord:
        return self._nonce(access.actor, nonce_id)

    def delete_nonce(self, access: Access, nonce_id: str) -> None:
        self._nonce(access.actor, nonce_id)
        self.store.nonces.delete(nonce_id)
        return None

    # -- aliases ---------------------------------------------------------------------
    def list_aliases(self, access: Access) -> list[AliasRecord]:
        return [a for a in self.store.aliases.all() if self._can_see(access.caller, a["alias"])]

    def _alias_record(self, alias: str) -> AliasRecord:
        record = self.store.aliases.get(alias) if isinstance(alias, str) else None
        if record is None:
            raise NotFound(f"Alias {alias} does not exist.")
        return record

    @staticmethod
    def _alias_request(body: dict[str, Any], need_alias: bool) -> tuple[str, str]:
        alias, actor_id = body.get("alias"), body.get("actor_id")
        if need_alias and not alias:
            raise BadRequest("Invalid alias request: field 'alias' is required.")
        if not actor_id:
            raise BadRequest("Invalid alias request: field 'actorId' is required.")
        return alias or "", actor_id

    def add_alias(self, access: Access, body: dict[str, Any]) -> AliasRecord:
        alias, actor_id = self._alias_request(body, need_alias=True)
        problem = models.alias_problem(alias, self.options.reserved_aliases)
        if problem:
            raise BadRequest(problem)
        actor = self._actor(actor_id)
        acting = self._authorize(access.caller, actor_id, actor["id"], Level.UPDATE)
        with self.store.transaction():
            if self.store.aliases.get(alias) is not None:
                raise BadRequest(f"Alias {alias} already exists.")
            record: AliasRecord = {"alias": alias, "actor_id": actor["id"], "owner": acting.username,
                                   "create_time": models.now()}
            self.store.aliases.insert(record)
            self._grant(alias, acting.username, Level.UPDATE)
        return record

    def get_alias(self, access: Access) -> AliasRecord:
        assert access.alias is not None
        return access.alias

    def update_alias(self, access: Access, body: dict[str, Any]) -> AliasRecord:
        assert access.alias is not None
        _, actor_id = self._alias_request(body, need_alias=False)
        actor = self._actor(actor_id)
        self._authorize(access.requester, actor_id, actor["id"], Level.UPDATE)
        return self.store.aliases.update(access.alias["alias"], {"actor_id": actor["id"]})

    def delete_alias(self, access: Access) -> None:
        record = access.alias
        assert record is not None
        alias = record["alias"]
        with self.store.transaction():
            for permission in self.store.permissions.by_actor(alias):
                self.store.permissions.delete(permission["id"])
            for nonce in self.store.nonces.by_actor(record["actor_id"]):
                if nonce.get("alias") == alias:
                    self.store.nonces.delete(nonce["id"])
            self.store.aliases.delete(alias)
        return None

    # -- executions ------------------------------------------------------------------
    def list_executions(self, access: Access, limit: int | None = None, skip: int = 0,
                        q: Any = None) -> dict[str, Any]:
        actor = access.actor
        actor_id = actor["id"]
        if q is None:
            paginate([], skip, limit)  # validates the paging arguments
            page = self.store.executions.by_actor(actor_id, skip or 0, limit)
        else:
            matches = mongo_filter(q)
            page = paginate([e for e in self.store.executions.by_actor(actor_id) if matches(e)], skip, limit)
        totals = self.store.sums_by_actor("executions", actor_id)
        return {
            "actor_id": actor_id,
            "owner": actor["owner"],
            "total_executions": self.store.executions.count_by_actor(actor_id),
            "total_cpu": totals["cpu"],
            "total_io": totals["io"],
            "total_runtime": totals["runtime"],
            "executions": page,  # whole records: a dialect shows the fields of a summary
        }

    def _execution(self, actor: ActorRecord, execution_id: str) -> ExecutionRecord:
        return _of_actor(self.store.executions, execution_id, actor, BadRequest,
                         "No executions found with actor id of {actor_id} and execution id of {key}.")

    def get_execution(self, access: Access, execution_id: str) -> ExecutionRecord:
        return self._execution(access.actor, execution_id)

    def delete_execution(self, access: Access, execution_id: str) -> None:
        execution = self._execution(access.actor, execution_id)
        if execution["status"] != models.RUNNING:
            raise BadRequest(f"Cannot force quit execution {execution_id}: it is {execution['status']}, "
                             "not RUNNING.")
        self.engine.force_quit(execution_id)
        return None

    def get_logs(self, access: Access, execution_id: str) -> dict[str, Any]:
        execution = self._execution(access.actor, execution_id)
        logs = self.store.logs.get(execution_id)
        return {"logs": logs["logs"] if logs else "", "actor_id": execution["actor_id"],
                "execution_id": execution_id, "executor": execution["executor"]}

    def get_live_logs(self, access: Access, execution_id: str) -> dict[str, Any]:
        """The logs so far of a running execution (its stored logs once it ended), its status,
        and whether it ended: what `logs --follow` and the dashboard follow."""
        execution = self._execution(access.actor, execution_id)
        live = self.engine.live_logs(execution_id)  # read after the status: then "finished" is never early
        if live is None:  # not running: it ended (its logs are stored with its status) or has not started
            execution = self._execution(access.actor, execution_id)
            stored = self.store.logs.get(execution_id)
            live = stored["logs"] if stored else ""
        return {"logs": live, "status": execution["status"], "finished": execution["status"] in models.FINISHED}

    def pop_result(self, access: Access, execution_id: str) -> bytes:
        """The oldest result the execution sent that was not read yet (b"" when none)."""
        self._execution(access.actor, execution_id)
        return self._pop_result(execution_id)

    def _pop_result(self, execution_id: str) -> bytes:
        with self.store.transaction():
            results = self.store.results.get(execution_id)
            if not results or not results["items"]:
                return b""
            first, *rest = results["items"]
            self.store.results.update(execution_id, {"items": rest})
        return base64.b64decode(first)

    # -- search ----------------------------------------------------------------------
    def search(self, access: Access, search_type: str, params: Mapping[str, str] | None = None,
               q: Any = None, limit: int | None = None, skip: int | None = 0) -> dict[str, Any]:
        if search_type not in SEARCH_TYPES:
            raise BadRequest(f"Invalid search type {search_type!r}; use one of {', '.join(SEARCH_TYPES)}.")
        caller = access.caller
        if search_type == "actors":
            records = [a for a in self.store.all("actors") if self._can_see(caller, a["id"])]
        else:
            records = [r for r in self.store.all(search_type) if self._can_see(caller, r["actor_id"])]
        matches = search_filter(params or {})
        if q is not None:
            query = mongo_filter(q)
            records = [r for r in records if matches(r) and query(r)]
        else:
            records = [r for r in records if matches(r)]
        skip = 0 if skip is None else skip
        limit = 100 if limit is None else limit
        page = paginate(records, skip, limit)
        return {
            "_metadata": {"total_count": len(records), "records_skipped": skip, "record_limit": limit,
                          "count_returned": len(page)},
            "search": page,
        }


R = TypeVar("R", bound=Mapping[str, object])


def _of_actor(records: Collection[R], key: str, actor: ActorRecord, missing: type[AbacoError], message: str) -> R:
    """The record `key` of `records` if it is one of `actor`'s; else `missing` with `message`
    (formatted with `actor_id` and `key`) is raised: an id of another actor's record is as
    unknown as one that does not exist."""
    record = records.get(key) if isinstance(key, str) else None
    if record is None or record["actor_id"] != actor["id"]:
        raise missing(message.format(actor_id=actor["id"], key=key))
    return record


def _check_variable(key: Any, value: Any, where: str) -> None:
    """Environment entries must be strings that a container environment can hold."""
    if not isinstance(key, str) or not key or "=" in key or "\x00" in key:
        raise BadRequest(f"Invalid {where}: {key!r} is not a valid environment variable name.")
    if isinstance(value, (dict, list)):
        check_json(value, where)
    elif not isinstance(value, (str, int, float, bool)) and value is not None:
        raise BadRequest(f"Invalid {where}: the value of {key} must be a string.")
    if isinstance(value, str) and "\x00" in value:
        raise BadRequest(f"Invalid {where}: the value of {key} contains a NUL character.")

