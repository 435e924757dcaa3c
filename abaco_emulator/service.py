"""The Abaco actors service: one method per operation, every rule of the API.

Transports (the in-process facade, the HTTP app, the CLI) only parse their input into
the arguments of these methods and render what they return. Validation, permissions,
aliases, nonces, search and the shapes of answers are decided here, so every
transport behaves the same. Methods return API results (camelCase dicts, via
`shapes`) or raise an `AbacoError` carrying the status code the real service sends.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from . import models
from .contract import Message
from .engine import Engine
from .errors import BadRequest, NotFound, PermissionDenied
from .models import ABACO_WORLD, ADMIN_ROLE, PRIVILEGED_ROLE, Level
from .query import SEARCH_TYPES, paginate, search_filter, mongo_filter
from .schemas import check_depth, validate
from .shapes import AbacoV2Shapes, to_snake
from .store import Store

DEFAULT_TENANT = "DEV-DEVELOP"
NOT_AUTHORIZED = "Not authorized -- you do not have access to this actor."
MAX_WORKERS_PER_ACTOR = 50
_PRIVILEGED_FIELDS = {
    "privileged": "make privileged actors",
    "max_workers": "set max workers",
    "max_cpus": "set max CPUs",
    "mem_limit": "set memory limits",
    "queue": "set the queue",
}


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a user with roles, or the bearer of a nonce."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant: str = DEFAULT_TENANT
    nonce: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    @property
    def is_privileged(self) -> bool:
        return self.is_admin or PRIVILEGED_ROLE in self.roles


@dataclass
class ServiceOptions:
    """Settings of one emulator that change what the service allows."""

    tenant: str = DEFAULT_TENANT
    api_server: str = "http://127.0.0.1:5000"
    allow_privileged: bool = False
    allow_mounts: bool = False


class ActorsService:
    """Every operation of the Abaco actors API over one store and one engine."""

    def __init__(self, store: Store, engine: Engine, options: ServiceOptions) -> None:
        self.store = store
        self.engine = engine
        self.options = options
        self.shapes = AbacoV2Shapes(options.api_server)
        self._tokens: dict[str, Caller] = {}
        self._tokens_lock = threading.Lock()

    # -- configuration -------------------------------------------------------------
    def set_api_server(self, url: str) -> None:
        """Point `_links` and `_abaco_api_server` at the URL the emulator serves on."""
        self.options.api_server = url.rstrip("/")
        self.shapes = AbacoV2Shapes(self.options.api_server)

    def add_token(self, token: str, caller: Caller) -> None:
        with self._tokens_lock:
            self._tokens[token] = caller

    def caller_for_token(self, token: str) -> Caller | None:
        with self._tokens_lock:
            return self._tokens.get(token)

    @property
    def has_tokens(self) -> bool:
        with self._tokens_lock:
            return any(not t.startswith("abaco-actor-") for t in self._tokens)

    def access_token_for(self, owner: str) -> str:
        """A token the server accepts for `owner` alone: what actor containers get."""
        token = "abaco-actor-" + secrets.token_urlsafe(24)
        self.add_token(token, Caller(owner, tenant=self.options.tenant))
        return token

    def revoke_token(self, token: str) -> None:
        with self._tokens_lock:
            self._tokens.pop(token, None)

    # -- identifiers and permissions -------------------------------------------------
    def _actor(self, identifier: str) -> dict[str, Any]:
        """The actor an id or alias names."""
        if not isinstance(identifier, str) or not identifier:
            raise BadRequest("An actor id or alias is required.")
        actor = self.store.get("actors", identifier)
        if actor is not None:
            return actor
        alias = self.store.get("aliases", identifier)
        if alias is not None:
            actor = self.store.get("actors", alias["actor_id"])
            if actor is None:
                raise NotFound(f"Alias {identifier} points to actor {alias['actor_id']}, which no longer exists.")
            return actor
        if models.looks_like_id(identifier):
            raise BadRequest(f"Actor does not exist: {identifier}.")
        raise NotFound(f"No actor or alias found with identifier {identifier}.")

    def level_of(self, username: str, resource: str) -> Level:
        """The highest level `username` holds on an actor or alias (directly or via ABACO_WORLD)."""
        best = Level.NONE
        for record in self.store.by_actor("permissions", resource):
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

    def _access(self, caller: Caller, identifier: str, needed: Level) -> tuple[dict[str, Any], Caller]:
        actor = self._actor(identifier)
        return actor, self._authorize(caller, identifier, actor["id"], needed)

    def _redeem_nonce(self, nonce_id: str, identifier: str, needed: Level) -> Caller:
        with self.store.transaction():
            nonce = self.store.get("nonces", nonce_id) if isinstance(nonce_id, str) else None
            if nonce is None:
                raise BadRequest("Nonce does not exist.")
            if identifier != (nonce.get("alias") or nonce["actor_id"]):
                raise BadRequest(f"Nonce {nonce_id} was not made for {identifier}.")
            if Level.parse(nonce["level"]) < needed:
                raise BadRequest("Nonce does not have sufficient permissions level.")
            if nonce["max_uses"] != -1 and nonce["remaining_uses"] <= 0:
                raise BadRequest("No remaining uses left for this nonce.")
            self.store.update("nonces", nonce_id, {
                "current_uses": nonce["current_uses"] + 1,
                "remaining_uses": -1 if nonce["max_uses"] == -1 else nonce["remaining_uses"] - 1,
                "last_use_time": models.now(),
            })
        return Caller(nonce["owner"], frozenset(nonce.get("roles") or ()), self.options.tenant)

    # -- actors ----------------------------------------------------------------------
    def list_actors(self, caller: Caller, limit: int | None = None, skip: int = 0,
                    q: Any = None) -> list[dict[str, Any]]:
        matches = mongo_filter(q) if q is not None else None
        actors = [a for a in self.store.all("actors") if self._can_see(caller, a["id"])]
        if matches is not None:
            actors = [a for a in actors if matches(a)]
        return [self.shapes.actor(a) for a in paginate(actors, skip, limit)]

    def _can_see(self, caller: Caller, resource: str) -> bool:
        return caller.is_admin or self.level_of(caller.username, resource) > Level.NONE

    def add_actor(self, caller: Caller, body: Any) -> dict[str, Any]:
        if caller.nonce is not None:
            raise PermissionDenied("Nonces cannot be used to register actors.")
        fields = self._actor_fields(caller, body, existing=None)
        moment = models.now()
        actor_id = models.new_id()
        record = {
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
        answer = self.shapes.actor(dict(record))  # as registered: SUBMITTED, like Abaco's answer
        self.engine.start_actor(actor_id)
        return answer

    def _actor_fields(self, caller: Caller, body: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        """The validated, snake_case description of an actor (defaults filled in)."""
        body = validate("Actor", body, "actor description")
        given = {to_snake(key): value for key, value in body.items()}
        for ignored in ("id", "owner", "status", "force", "state", "revision", "create_time",
                        "last_update_time", "status_message", "db_id", "tenant"):
            given.pop(ignored, None)
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
        for name, what in _PRIVILEGED_FIELDS.items():
            default = models.actor_defaults()[name]
            if fields[name] not in (default, None, False) and not caller.is_privileged:
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
        target = self._actor(link)
        if not (caller.is_admin or self.level_of(caller.username, target["id"]) >= Level.EXECUTE):
            raise PermissionDenied(f"Not authorized -- you do not have EXECUTE access to the linked actor {link}.")
        seen = {actor_id} if actor_id else set()
        while target is not None:
            if target["id"] in seen:
                raise BadRequest("Error: this update would result in a cycle of linked actors.")
            seen.add(target["id"])
            target = self._actor(target["link"]) if target.get("link") else None

    def get_actor(self, caller: Caller, identifier: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        return self.shapes.actor(actor)

    def update_actor(self, caller: Caller, identifier: str, body: Any) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        force = isinstance(body, dict) and body.get("force") is True
        fields = self._actor_fields(caller, body, existing=actor)
        restart = force or fields["image"] != actor["image"]
        fields["last_update_time"] = models.now()
        if restart:
            fields["revision"] = actor["revision"] + 1
            fields["status"] = models.SUBMITTED
            fields["status_message"] = ""
        updated = self.store.update("actors", actor["id"], fields)
        if restart:
            self.engine.restart_actor(actor["id"])
        return self.shapes.actor(updated)

    def delete_actor(self, caller: Caller, identifier: str) -> None:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        actor_id = actor["id"]
        self.store.update("actors", actor_id, {"status": models.SHUTTING_DOWN})
        self.engine.remove_actor(actor_id)
        with self.store.transaction():
            for kind in ("messages", "logs", "results", "permissions", "nonces", "workers"):
                for record in self.store.by_actor(kind, actor_id):
                    self.store.delete(kind, self.store.key_of(kind, record))
            self.store.delete("actors", actor_id)
        return None

    # -- messages --------------------------------------------------------------------
    def get_messages(self, caller: Caller, identifier: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        return self.shapes.messages_count(actor, self.engine.queued(actor["id"]))

    def delete_messages(self, caller: Caller, identifier: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        self.engine.purge(actor["id"])
        return {"msg": "Actor mailbox purged."}

    def send_message(self, caller: Caller, identifier: str, message: Message,
                     environment: dict[str, Any] | None = None) -> dict[str, Any]:
        actor, acting = self._access(caller, identifier, Level.EXECUTE)
        environment = dict(environment or {})
        for key, value in environment.items():
            _check_variable(key, value, "environment")
        execution_id = models.new_id()
        execution = {
            "id": execution_id,
            "actor_id": actor["id"],
            "api_server": self.options.api_server,
            "executor": acting.username,
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
        mail = {"id": execution_id, "actor_id": actor["id"], "message": message.to_record(),
                "environment": {str(k): str(v) for k, v in environment.items()}}
        with self.store.transaction():
            current = self.store.get("actors", actor["id"])
            if current is None or current["status"] == models.SHUTTING_DOWN:  # deleted meanwhile
                raise NotFound(f"No actor or alias found with identifier {identifier}.")
            self.store.insert("executions", execution)
            self.store.insert("messages", mail)
        self.engine.notify(actor["id"], execution_id)
        return self.shapes.message_sent(actor["id"], execution_id, actor["owner"], message.shown)

    def synchronous_answer(self, execution_id: str, timeout: float | None) -> tuple[bytes, str]:
        """Wait for an execution just sent; its first result, or its logs when it sent none.

        The caller was authorized (and any nonce redeemed) by `send_message`, so this
        must not check again."""
        self.engine.wait_for(execution_id, timeout)
        results = self.store.get("results", execution_id)
        if results and results["items"]:
            return self._pop_result(execution_id), "application/octet-stream"
        logs = self.store.get("logs", execution_id)
        return (logs["logs"] if logs else "").encode("utf-8"), "text/plain; charset=utf-8"

    # -- state -----------------------------------------------------------------------
    def get_state(self, caller: Caller, identifier: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        if actor["stateless"]:
            raise NotFound("actor is stateless.")
        return {"state": actor.get("state")}

    def update_state(self, caller: Caller, identifier: str, value: Any) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        if actor["stateless"]:
            raise NotFound("actor is stateless.")
        _check_json(value, "state")
        return self.shapes.actor(self.store.update("actors", actor["id"], {"state": value}))

    def set_state_from_execution(self, actor_id: str, value: Any) -> None:
        """State written by a running in-process handler (on behalf of the actor's owner)."""
        actor = self.store.get("actors", actor_id)
        if actor is None:
            raise BadRequest(f"Actor does not exist: {actor_id}.")
        self.update_state(Caller(actor["owner"], tenant=self.options.tenant), actor_id, value)

    # -- permissions -----------------------------------------------------------------
    def _grant(self, resource: str, user: str, level: Level) -> None:
        self.store.delete("permissions", f"{resource}:{user}")
        self.store.insert("permissions", {"id": f"{resource}:{user}", "actor_id": resource,
                                          "user": user, "level": level.name})

    def _permissions_map(self, resource: str) -> dict[str, str]:
        return {r["user"]: r["level"] for r in self.store.by_actor("permissions", resource)}

    def get_permissions(self, caller: Caller, identifier: str) -> dict[str, str]:
        actor, _ = self._access(caller, identifier, Level.READ)
        return self._permissions_map(actor["id"])

    def update_permissions(self, caller: Caller, identifier: str, body: Any) -> dict[str, str]:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        user, level = self._permission_request(body)
        self._grant(actor["id"], user, level)
        return self._permissions_map(actor["id"])

    @staticmethod
    def _permission_request(body: Any) -> tuple[str, Level]:
        body = validate("PermissionsUpdateRequest", body, "permission request")
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
    def list_workers(self, caller: Caller, identifier: str) -> list[dict[str, Any]]:
        actor, _ = self._access(caller, identifier, Level.READ)
        return [self.shapes.worker(w) for w in self.store.by_actor("workers", actor["id"])]

    def add_workers(self, caller: Caller, identifier: str, body: Any) -> None:
        actor, acting = self._access(caller, identifier, Level.UPDATE)
        body = validate("AddWorkersRequest", body if body is not None else {}, "workers request")
        num = body.get("num", 1)
        if num is None or num < 1:
            raise BadRequest("Invalid workers request: field 'num' must be at least 1.")
        if not acting.is_admin:
            raise PermissionDenied("Not authorized -- only admins can add workers.")
        current = self.store.count_by_actor("workers", actor["id"])
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

    def get_worker(self, caller: Caller, identifier: str, worker_id: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        return self.shapes.worker(self._worker(actor, worker_id))

    def _worker(self, actor: dict[str, Any], worker_id: str) -> dict[str, Any]:
        worker = self.store.get("workers", worker_id) if isinstance(worker_id, str) else None
        if worker is None or worker["actor_id"] != actor["id"]:
            raise NotFound("Worker not found.")
        return worker

    def delete_worker(self, caller: Caller, identifier: str, worker_id: str) -> None:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        self._worker(actor, worker_id)
        self.engine.stop_worker(worker_id)
        return None

    # -- nonces ----------------------------------------------------------------------
    def _nonce_target(self, caller: Caller, identifier: str,
                      needed: Level) -> tuple[dict[str, Any], bool, Caller]:
        """The actor a nonce route is about, whether it was named by an alias, and who acts."""
        actor = self._actor(identifier)
        is_alias = identifier != actor["id"]
        acting = self._authorize(caller, identifier, identifier if is_alias else actor["id"], needed)
        return actor, is_alias, acting

    def list_nonces(self, caller: Caller, identifier: str) -> list[dict[str, Any]]:
        actor, is_alias, _ = self._nonce_target(caller, identifier, Level.READ)
        nonces = self.store.by_actor("nonces", actor["id"])
        return [self.shapes.nonce(n) for n in nonces if (n.get("alias") == identifier) == is_alias]

    def add_nonce(self, caller: Caller, identifier: str, body: Any) -> dict[str, Any]:
        actor, is_alias, acting = self._nonce_target(caller, identifier, Level.UPDATE)
        body = validate("AddNonceRequest", body if body is not None else {}, "nonce request")
        try:
            level = Level.parse(body.get("level", "EXECUTE"))
        except ValueError:
            raise BadRequest(f"Invalid nonce request: {body.get('level')!r} is not a permission level; "
                             "use one of READ, EXECUTE, UPDATE.") from None
        if level == Level.NONE:
            raise BadRequest("Invalid nonce request: a nonce must grant READ, EXECUTE or UPDATE.")
        if is_alias and level == Level.UPDATE:
            raise BadRequest("Invalid nonce request: nonces for aliases cannot be UPDATE level.")
        max_uses = body.get("maxUses", -1)
        if max_uses == 0 or max_uses < -1:
            raise BadRequest("Invalid nonce request: field 'maxUses' must be a positive integer "
                             "or -1 for unlimited uses.")
        description = body.get("description", "")
        if not isinstance(description, str):
            raise BadRequest("Invalid nonce request: field 'description' must be a string.")
        if not caller.is_admin and self.level_of(caller.username, actor["id"]) < level and caller.nonce is None:
            raise PermissionDenied(f"Not authorized -- you cannot create a {level.name} nonce "
                                   "with a lower permission level on this actor.")
        nonce = {
            "id": f"{self.options.tenant}_{models.new_id()}",
            "actor_id": actor["id"],
            "alias": identifier if is_alias else None,
            "owner": acting.username,  # a nonce made with a nonce is its owner's, as the request runs as them
            "roles": sorted(acting.roles),
            "level": level.name,
            "max_uses": max_uses,
            "current_uses": 0,
            "remaining_uses": max_uses,
            "description": description,
            "create_time": models.now(),
            "last_use_time": None,
        }
        self.store.insert("nonces", nonce)
        return self.shapes.nonce(nonce)

    def _nonce(self, actor: dict[str, Any], nonce_id: str) -> dict[str, Any]:
        nonce = self.store.get("nonces", nonce_id) if isinstance(nonce_id, str) else None
        if nonce is None or nonce["actor_id"] != actor["id"]:
            raise BadRequest("Nonce not found.")
        return nonce

    def get_nonce(self, caller: Caller, identifier: str, nonce_id: str) -> dict[str, Any]:
        actor, _, _ = self._nonce_target(caller, identifier, Level.READ)
        return self.shapes.nonce(self._nonce(actor, nonce_id))

    def delete_nonce(self, caller: Caller, identifier: str, nonce_id: str) -> None:
        actor, _, _ = self._nonce_target(caller, identifier, Level.UPDATE)
        self._nonce(actor, nonce_id)
        self.store.delete("nonces", nonce_id)
        return None

    # -- aliases ---------------------------------------------------------------------
    def list_aliases(self, caller: Caller) -> list[dict[str, Any]]:
        return [self.shapes.alias(a) for a in self.store.all("aliases") if self._can_see(caller, a["alias"])]

    def _alias(self, caller: Caller, alias: str, needed: Level) -> dict[str, Any]:
        record = self.store.get("aliases", alias) if isinstance(alias, str) else None
        if record is None:
            raise NotFound(f"Alias {alias} does not exist.")
        self._authorize(caller, alias, alias, needed)
        return record

    def _alias_request(self, body: Any, need_alias: bool) -> tuple[str | None, str]:
        body = validate("AddAliasRequest", body, "alias request")
        alias, actor_id = body.get("alias"), body.get("actorId")
        if need_alias and not alias:
            raise BadRequest("Invalid alias request: field 'alias' is required.")
        if not actor_id:
            raise BadRequest("Invalid alias request: field 'actorId' is required.")
        return alias, actor_id

    def add_alias(self, caller: Caller, body: Any) -> dict[str, Any]:
        alias, actor_id = self._alias_request(body, need_alias=True)
        problem = models.alias_problem(alias)
        if problem:
            raise BadRequest(problem)
        actor, acting = self._access(caller, actor_id, Level.UPDATE)
        with self.store.transaction():
            if self.store.get("aliases", alias) is not None:
                raise BadRequest(f"Alias {alias} already exists.")
            record = {"alias": alias, "actor_id": actor["id"], "owner": acting.username,
                      "create_time": models.now()}
            self.store.insert("aliases", record)
            self._grant(alias, acting.username, Level.UPDATE)
        return self.shapes.alias(record)

    def get_alias(self, caller: Caller, alias: str) -> dict[str, Any]:
        return self.shapes.alias(self._alias(caller, alias, Level.READ))

    def update_alias(self, caller: Caller, alias: str, body: Any) -> dict[str, Any]:
        self._alias(caller, alias, Level.UPDATE)
        _, actor_id = self._alias_request(body, need_alias=False)
        actor, _ = self._access(caller, actor_id, Level.UPDATE)
        return self.shapes.alias(self.store.update("aliases", alias, {"actor_id": actor["id"]}))

    def delete_alias(self, caller: Caller, alias: str) -> None:
        record = self._alias(caller, alias, Level.UPDATE)
        with self.store.transaction():
            for permission in self.store.by_actor("permissions", alias):
                self.store.delete("permissions", permission["id"])
            for nonce in self.store.by_actor("nonces", record["actor_id"]):
                if nonce.get("alias") == alias:
                    self.store.delete("nonces", nonce["id"])
            self.store.delete("aliases", alias)
        return None

    # -- executions ------------------------------------------------------------------
    def list_executions(self, caller: Caller, identifier: str, limit: int | None = None, skip: int = 0,
                        q: Any = None) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        actor_id = actor["id"]
        if q is None:
            paginate([], skip, limit)  # validates the paging arguments
            page = self.store.by_actor("executions", actor_id, skip or 0, limit)
        else:
            matches = mongo_filter(q)
            page = paginate([e for e in self.store.by_actor("executions", actor_id) if matches(e)], skip, limit)
        return self.shapes.executions_summary(actor, page, self.store.count_by_actor("executions", actor_id),
                                              self.store.sums_by_actor("executions", actor_id))

    def _execution(self, actor: dict[str, Any], execution_id: str) -> dict[str, Any]:
        execution = self.store.get("executions", execution_id) if isinstance(execution_id, str) else None
        if execution is None or execution["actor_id"] != actor["id"]:
            raise BadRequest(f"No executions found with actor id of {actor['id']} "
                             f"and execution id of {execution_id}.")
        return execution

    def get_execution(self, caller: Caller, identifier: str, execution_id: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        return self.shapes.execution(self._execution(actor, execution_id))

    def delete_execution(self, caller: Caller, identifier: str, execution_id: str) -> None:
        actor, _ = self._access(caller, identifier, Level.UPDATE)
        execution = self._execution(actor, execution_id)
        if execution["status"] != models.RUNNING:
            raise BadRequest(f"Cannot force quit execution {execution_id}: it is {execution['status']}, "
                             "not RUNNING.")
        self.engine.force_quit(execution_id)
        return None

    def get_logs(self, caller: Caller, identifier: str, execution_id: str) -> dict[str, Any]:
        actor, _ = self._access(caller, identifier, Level.READ)
        execution = self._execution(actor, execution_id)
        logs = self.store.get("logs", execution_id)
        return self.shapes.logs(execution, logs["logs"] if logs else "")

    def pop_result(self, caller: Caller, identifier: str, execution_id: str) -> bytes:
        """The oldest result the execution sent that was not read yet (b"" when none)."""
        actor, _ = self._access(caller, identifier, Level.READ)
        self._execution(actor, execution_id)
        return self._pop_result(execution_id)

    def _pop_result(self, execution_id: str) -> bytes:
        with self.store.transaction():
            results = self.store.get("results", execution_id)
            if not results or not results["items"]:
                return b""
            first, *rest = results["items"]
            self.store.update("results", execution_id, {"items": rest})
        return base64.b64decode(first)

    # -- search ----------------------------------------------------------------------
    def search(self, caller: Caller, search_type: str, params: dict[str, str] | None = None,
               q: Any = None, limit: int | None = None, skip: int = 0) -> dict[str, Any]:
        if search_type not in SEARCH_TYPES:
            raise BadRequest(f"Invalid search type {search_type!r}; use one of {', '.join(SEARCH_TYPES)}.")
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
            "search": [self.shapes.search_record(search_type, r) for r in page],
        }


def _check_variable(key: Any, value: Any, where: str) -> None:
    """Environment entries must be strings that a container environment can hold."""
    if not isinstance(key, str) or not key or "=" in key or "\x00" in key:
        raise BadRequest(f"Invalid {where}: {key!r} is not a valid environment variable name.")
    if isinstance(value, (dict, list)):
        _check_json(value, where)
    elif not isinstance(value, (str, int, float, bool)) and value is not None:
        raise BadRequest(f"Invalid {where}: the value of {key} must be a string.")
    if isinstance(value, str) and "\x00" in value:
        raise BadRequest(f"Invalid {where}: the value of {key} contains a NUL character.")


def _check_json(value: Any, what: str) -> None:
    check_depth(value, what)
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid {what}: the value must be JSON-serializable ({exc}).") from None

