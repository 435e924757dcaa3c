"""The Abaco actors service: one method per operation, every rule of the API.

Transports reach it through `operations.perform`, which first has `authorize` resolve
and check the record an operation's path names (its target, at its level), then calls
the method the operation names with the resulting `Access`. Methods take and return
plain snake_case records (no envelope, no `_links`, no key case) or raise an
`AbacoError` carrying the status code the real service sends; the transport's dialect
renders them. A method whose envelope message depends on what happened returns a
`models.Reply`.

Everything is tenant-scoped, as in Abaco: a caller's tenant (from the JWT header that
carried it, or a nonce's id) decides which actors, aliases, nonces and records exist for
it; another tenant's ids are unknown, never forbidden.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, TypeVar

from . import models, overview
from .auth import DEFAULT_TENANT, Caller
from .configs import ConfigsService
from .contract import Message
from .cron import parse_schedule
from .engine import DEFAULT_API_SERVER, Engine
from .errors import AbacoError, BadRequest, NotFound, PermissionDenied, ShuttingDown
from .models import (ABACO_WORLD, ActorRecord, AliasRecord, ExecutionRecord, Level, NonceRecord, Reply,
                     WorkerRecord)
from .scheduler import Scheduler, clock_view
from .query import SEARCH_TYPES, filters, mongo_filter, paginate, search_filter
from .schemas import check_json
from .sealing import Sealer, sealer_for
from .store import Collection, Store

MAX_WORKERS_PER_ACTOR = 50
_PRIVILEGED_FIELDS = {
    "privileged": "make privileged actors",
    "max_workers": "set max workers",
    "max_cpus": "set max CPUs",
    "mem_limit": "set mem limit",
    "queue": "set queue",
}
_ALIAS_NONCE_LEVELS = ("NONE", "READ", "EXECUTE")
_PERMISSION_LEVELS = ("NONE", "READ", "EXECUTE", "UPDATE")
_BAD_HINT_CHARACTERS = ('"', "'", "{", "}", "[", "]")
_BAD_LINK = ("Invalid link parameter; unable to retrieve linked actor data. The link must be a valid actor id "
             "or alias for which you have EXECUTE permission.")


def _no_actor_for_a_nonce(route: str | None) -> AbacoError:
    """What Abaco's get_db_id answers a nonce on a route that names no actor: it takes the
    path's first segment below /actors (the second one after /aliases) for an actor's."""
    if route is None:
        return PermissionDenied("Nonces cannot be used on the emulator's own routes; use a token.")
    segment = route.strip("/").split("/")[0]
    if not segment:
        return PermissionDenied("Not authorized.")
    if segment == "aliases":
        return NotFound("Unable to parse actor identifier: is it missing from the URL?")
    if segment == "search":
        return NotFound("'x-nonce' query parameter on the '/actors/search/{database}' endpoint does not resolve.")
    return NotFound(f"Actor with identifier '{segment}' not found")


def _denied(noun: str) -> PermissionDenied:
    return PermissionDenied(f"Not authorized -- you do not have access to this {noun}.")


@dataclass
class ServiceOptions:
    """Settings of one emulator that change what the service allows."""

    tenant: str = DEFAULT_TENANT
    api_server: str = DEFAULT_API_SERVER
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
    def tenant(self) -> str:
        return self.caller.tenant


# What `Access.actor` is for operations that name no actor (creating or listing actors,
# aliases, search): a record with no fields, never read.
NO_ACTOR: ActorRecord = {}  # type: ignore[typeddict-item]


class ActorsService:
    """Every operation of the Abaco actors API over one store and one engine."""

    def __init__(self, store: Store, engine: Engine, options: ServiceOptions, scheduler: Scheduler,
                 sealer: Sealer | None = None) -> None:
        self.store = store
        self.engine = engine
        self.options = options
        self.scheduler = scheduler
        # The actor configs (`configs.py`); `sealer` seals their secrets (the store's key by default).
        self.configs = ConfigsService(self, sealer or sealer_for(store.path))

    # -- authorization of what a path names --------------------------------------------
    def authorize(self, target: str | None, level: Level | None, caller: Caller, path: dict[str, str],
                  admin: bool = False, route: str | None = None) -> Access:
        """Resolve and authorize the record a path names (`target`, see operations.py) at
        `level`, in Abaco's order; the path parameter that named it is used up. `route`
        is Abaco's path of the operation below `/actors` (None: the emulator's own)."""
        requester = caller
        if caller.nonce is not None:
            caller = self._nonce_owner(caller.nonce, target, level, path, route)
        if not caller.has_abaco_role:
            raise PermissionDenied("Not authorized -- missing required role.")
        if admin and not caller.is_admin:
            raise PermissionDenied("Abaco Admin role required.")
        if not caller.is_admin and any(isinstance(value, str) and "admin" in value for value in path.values()):
            self._refuse_admin_in_path(caller, path)
        if target is None or level is None:
            return Access(requester, caller, None, NO_ACTOR)
        tenant = caller.tenant
        if target == "config":
            name = path.pop("config_name")
            self.configs.authorize(caller, name, level)
            return Access(requester, caller, name, NO_ACTOR)
        if target == "alias" or target == "alias_nonces":
            alias = path.pop("alias")
            record = self._alias_record(tenant, alias)
            if target == "alias":
                self._check(caller, record["id"], level, "alias")
                return Access(requester, caller, alias, NO_ACTOR, record)
            actor = self._actor(caller, record["actor_id"])
            if not (self._allowed(caller, record["id"], level) and self._allowed(caller, actor["id"], level)):
                raise _denied("alias and actor")
            return Access(requester, caller, alias, actor, record)
        identifier = path.pop("actor_id")
        actor = self._actor(caller, identifier)
        self._check(caller, actor["id"], level, "actor")
        return Access(requester, caller, identifier, actor)

    def _refuse_admin_in_path(self, caller: Caller, path: Mapping[str, str]) -> None:
        """Abaco demands its admin role of any request whose path holds "admin" (an alias
        `sysadmin`, a config `admin-keys`), after it resolved the path's actor (so a
        missing one is still 404): code that trips on that there must trip here too."""
        if "actor_id" in path:
            self._actor(caller, path["actor_id"])
        raise PermissionDenied("Abaco Admin role required.")

    def _allowed(self, caller: Caller, resource: str, level: Level) -> bool:
        """Admins pass; anyone else (a nonce's owner too: its rights of now, as Abaco's
        check_nonce then authorization()) needs `level`."""
        return caller.is_admin or self.level_of(caller.username, resource) >= level

    def _check(self, caller: Caller, resource: str, level: Level, noun: str) -> None:
        if not self._allowed(caller, resource, level):
            raise _denied(noun)

    def _nonce_owner(self, nonce_id: str, target: str | None, level: Level | None, path: Mapping[str, str],
                     route: str | None) -> Caller:
        """Redeem a nonce for the identifier of the path (an actor nonce for an actor id, an
        alias nonce for an alias: Abaco's check_nonce); who acts is then its owner."""
        if target is None or level is None or target == "config":
            raise _no_actor_for_a_nonce(route)
        tenant = nonce_id.rsplit("_", 1)[0] if isinstance(nonce_id, str) and "_" in nonce_id else ""
        identifier = path.get("alias") if target in ("alias", "alias_nonces") else path.get("actor_id")
        if identifier is None:
            raise BadRequest("Nonce does not exist.")
        resource = identifier if models.looks_like_id(identifier) and target not in ("alias", "alias_nonces") \
            else models.alias_id(tenant, identifier)
        needed = level
        with self.store.transaction():
            nonce = self.store.nonces.get(nonce_id) if isinstance(nonce_id, str) else None
            if nonce is None or nonce["tenant"] != tenant or nonce["resource"] != resource:
                raise BadRequest("Nonce does not exist.")
            if Level.parse(nonce["level"]) < needed:
                raise BadRequest("Nonce does not have sufficient permissions level.")
            if nonce["max_uses"] != -1 and nonce["remaining_uses"] <= 0:
                raise BadRequest("No remaining uses left for this nonce.")
            self.store.nonces.update(nonce_id, {
                "current_uses": nonce["current_uses"] + 1,
                "remaining_uses": -1 if nonce["max_uses"] == -1 else nonce["remaining_uses"] - 1,
                "last_use_time": self.engine.clock.stamp(),
            })
        return Caller(nonce["owner"], frozenset(nonce.get("roles") or ()), tenant, nonce=nonce_id)

    # -- identifiers and permissions -------------------------------------------------
    def _actor(self, caller: Caller, identifier: str) -> ActorRecord:
        """The actor an id or alias names in the caller's tenant (Abaco's get_db_id)."""
        if not isinstance(identifier, str) or not identifier:
            raise NotFound("Unable to parse actor identifier: is it missing from the URL?")
        tenant = caller.tenant
        if models.looks_like_id(identifier):
            actor = self.store.actors.get(identifier)
            if actor is not None and actor["tenant"] == tenant:
                return actor
            if caller.is_admin:
                raise NotFound(f"No actor found with identifier: {identifier}.")
            raise BadRequest(f"Actor {tenant}_{identifier} does not exist")
        alias = self.store.aliases.get(models.alias_id(tenant, identifier))
        actor = self.store.actors.get(alias["actor_id"]) if alias is not None else None
        if actor is None:
            raise NotFound(f"Actor with identifier '{identifier}' not found")
        return actor

    def level_of(self, username: str, resource: str) -> Level:
        """The highest level `username` holds on an actor, alias or config (directly or via ABACO_WORLD)."""
        best = Level.NONE
        for record in self.store.permissions.by_actor(resource):
            if record["user"] in (username, ABACO_WORLD):
                best = max(best, Level.parse(record["level"]))
        return best

    def _can_see(self, caller: Caller, resource: str) -> bool:
        """What listings show (Abaco's list checks READ, no admin bypass for actors)."""
        return self.level_of(caller.username, resource) > Level.NONE

    def _holds_explicit(self, user: str, resource: str) -> bool:
        """Search scope: an entry for the user in the permissions document itself (no
        ABACO_WORLD, no admin bypass), as Abaco's search pipeline joins them."""
        return any(r["user"] == user for r in self.store.permissions.by_actor(resource))

    # -- actors ----------------------------------------------------------------------
    def list_actors(self, access: Access, params: Mapping[str, Any] | None = None, q: Any = None) -> Any:
        """The actors the caller may read; any query parameter makes it a search (as Abaco)."""
        if params or q is not None:
            return Reply(self.search(access, "actors", params, q).result, "Actors search completed successfully.",
                         "search")
        caller = access.caller
        return [a for a in self.store.actors.all() if a["tenant"] == caller.tenant and self._can_see(caller, a["id"])]

    def add_actor(self, access: Access, body: dict[str, Any]) -> ActorRecord:
        caller = access.caller
        fields = self._actor_fields(caller, body, existing=None)
        moment = self.engine.clock.stamp()
        actor_id = models.new_id()
        record: dict[str, Any] = {
            "id": actor_id,
            "db_id": f"{caller.tenant}_{actor_id}",
            "name": fields.pop("name", None),
            "image": fields.pop("image"),
            "owner": caller.username,
            "status": models.SUBMITTED,
            "status_message": "",
            "revision": 1,
            "create_time": moment,
            "last_update_time": moment,
            "tenant": caller.tenant,
            "state": {},
            "uid": None, "gid": None, "tasdir": None,
            **fields,
        }
        with self.store.transaction():
            self.store.insert("actors", record)
            self._grant(actor_id, caller.username, Level.UPDATE)
            self.store.count_up("actors_registered")
        answer: ActorRecord = dict(record)  # type: ignore[assignment]  # as registered: SUBMITTED
        self.engine.start_actor(actor_id)
        if record.get("cron_schedule"):
            self.scheduler.wake()  # a schedule from `now` runs within the hour it starts, not a minute later
        return answer

    def _actor_fields(self, caller: Caller, body: dict[str, Any], existing: ActorRecord | None) -> dict[str, Any]:
        """The checked snake_case description of an actor: a whole description, as Abaco's
        parser gives it (omitted fields take their defaults, on PUT too)."""
        image = body.get("image")
        if not isinstance(image, str) or not image.strip():
            raise BadRequest("Invalid actor description: {'image': 'Reference to image on docker hub for "
                             "this actor.'}")
        fields = models.actor_defaults()
        fields.update({k: v for k, v in body.items() if k in fields or k in ("image", "name")})
        if fields["stateless"] is None:
            fields["stateless"] = True
        if body.get("token") is None:
            fields["token"] = models.DEFAULT_TOKEN
        for hint in fields["hints"] or ():
            bad = next((c for c in _BAD_HINT_CHARACTERS if c in str(hint)), None)
            if bad:
                raise BadRequest("Invalid actor description: Unable to process the JSON description.: 400 Bad Request: "
                                 f"Hints must be simple stings or numbers, no lists or dicts. Error character: {bad}")
        if existing is not None:
            fields["name"] = existing.get("name")
            # A PUT is the whole description: an omitted `stateless` is the default (true),
            # so a stateful actor must say `stateless=false` again.
            if not existing["stateless"] and fields["stateless"]:
                raise BadRequest("Invalid actor description: an actor that was not stateless cannot be updated "
                                 "to be stateless.")
            if not existing["stateless"] and fields["max_workers"]:
                raise BadRequest("Invalid actor description: stateful actors can only have 1 worker.")
        elif fields["max_workers"] and not fields["stateless"]:
            raise BadRequest("Invalid actor description: stateful actors can only have 1 worker.")
        if not caller.is_privileged:
            for name, what in _PRIVILEGED_FIELDS.items():
                if body.get(name):
                    raise PermissionDenied(f"Not authorized -- only admins and privileged users can {what}.")
        if fields["mounts"] and not self.options.allow_mounts:
            raise BadRequest("Host mounts are disabled in this emulator; create it with allow_mounts=True "
                             "(serve --allow-mounts) to allow them.")
        for key, value in (fields["default_environment"] or {}).items():
            _check_variable(key, value, "defaultEnvironment")
        if fields["link"]:
            self._check_link(caller, fields["link"], existing["id"] if existing else None)
        schedule = fields.get("cron_schedule")
        if schedule is not None:
            parsed = parse_schedule(schedule, self.engine.clock.now())
            fields["cron_next_ex"] = parsed.next_ex
            if existing is None:
                fields["cron_on"] = True  # a registration with a schedule switches it on; a PUT says so itself
        return fields

    def _check_link(self, caller: Caller, link: str, actor_id: str | None) -> None:
        try:
            target: ActorRecord | None = self._actor(caller, link)
        except AbacoError:
            raise BadRequest(_BAD_LINK) from None
        assert target is not None
        if target["id"] == actor_id:
            raise BadRequest("Invalid link parameter. An actor cannot link to itself.")
        if not (caller.is_admin or self.level_of(caller.username, target["id"]) >= Level.EXECUTE):
            raise BadRequest(_BAD_LINK)
        seen = {actor_id} if actor_id else set()
        while target is not None:
            if target["id"] in seen:
                raise BadRequest("Error: this update would result in a cycle of linked actors.")
            seen.add(target["id"])
            try:
                target = self._actor(caller, target["link"]) if target.get("link") else None
            except AbacoError:  # a link that dangles (its actor was deleted) ends the chain
                target = None

    def get_actor(self, access: Access) -> ActorRecord:
        return access.actor

    def update_actor(self, access: Access, body: dict[str, Any]) -> ActorRecord:
        actor = access.actor
        force = bool(body.get("force"))
        fields = self._actor_fields(access.caller, body, existing=actor)
        fields.pop("force", None)
        restart = force or fields["image"] != actor["image"]
        fields["last_update_time"] = self.engine.clock.stamp()
        if restart:
            fields["revision"] = actor["revision"] + 1
        updated = self.store.actors.update(actor["id"], fields)
        if access.caller.username != actor["owner"]:  # whoever updated it may update it again
            self._grant(actor["id"], access.caller.username, Level.UPDATE)
        if restart:
            updated = self.engine.restart_actor(actor["id"]) or updated
        if updated.get("cron_schedule"):
            self.scheduler.wake()
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
        actor = access.actor
        self.engine.purge(actor["id"])
        return {"msg": "Actor mailbox purged.", "actor_id": actor["id"], "owner": actor["owner"]}

    def send_message(self, access: Access, message: Message,
                     environment: Mapping[str, Any] | None = None) -> dict[str, Any]:
        actor = access.actor
        if not self.engine.accepting:
            raise ShuttingDown("abaco-emulator is shutting down: it accepts no new messages. Send it again "
                               "once the emulator is started again.")
        environment = dict(environment or {})
        for key, value in environment.items():
            _check_variable(key, value, "environment")
        if access.requester.jwt_header:
            environment["_abaco_jwt_header_name"] = access.requester.jwt_header
        execution_id = self.queue_message(actor, message, access.caller.username, environment)
        return {"execution_id": execution_id, "actor_id": actor["id"], "owner": actor["owner"],
                "msg": message.shown}

    def queue_message(self, actor: ActorRecord, message: Message, executor: str,
                      environment: Mapping[str, Any] | None = None) -> str:
        """Store a message and its SUBMITTED execution, then queue it: what a sender gets an
        execution id for."""
        execution_id = self.engine.store_message(actor["id"], message, executor, environment)
        self.engine.notify(actor["id"], execution_id)
        return execution_id

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
        return {"state": access.actor.get("state")}

    def update_state(self, access: Access, body: Any) -> ActorRecord:
        actor = access.actor
        if actor["stateless"]:
            raise NotFound("actor is stateless.")
        if not body:
            raise BadRequest("Invalid actor state description: state must be JSON serializable.")
        check_json(body, "state")
        return self.store.actors.update(actor["id"], {"state": body})

    # -- permissions (of an actor, an alias) -------------------------------------------
    def _grant(self, resource: str, user: str, level: Level) -> None:
        self.store.permissions.delete(f"{resource}:{user}")
        self.store.permissions.insert({"id": f"{resource}:{user}", "actor_id": resource,
                                       "user": user, "level": level.name})

    def _permissions_map(self, resource: str) -> dict[str, str]:
        return {r["user"]: r["level"] for r in self.store.permissions.by_actor(resource)}

    def get_permissions(self, access: Access) -> dict[str, str]:
        return self._permissions_map(self._resource_of(access))

    def update_permissions(self, access: Access, body: dict[str, Any]) -> dict[str, str]:
        return self.set_permission(self._resource_of(access), body)

    def set_permission(self, resource: str, body: Mapping[str, Any]) -> dict[str, str]:
        """Grant the level a permissions body names on `resource` (an actor, alias or config)."""
        level = body["level"]
        if level not in _PERMISSION_LEVELS:
            raise BadRequest(f"Invalid permission level: {level}.             The valid values are "
                             f"{_PERMISSION_LEVELS}")
        self._grant(resource, body["user"], Level.parse(level))
        return self._permissions_map(resource)

    @staticmethod
    def _resource_of(access: Access) -> str:
        """What permissions routes are about: the alias of an alias route, else the actor."""
        return access.alias["id"] if access.alias is not None else access.actor["id"]

    # -- workers ---------------------------------------------------------------------
    def list_workers(self, access: Access, params: Mapping[str, Any] | None = None, q: Any = None) -> Any:
        if params or q is not None:
            return Reply(self.search(access, "workers", params, q, actor_id=access.actor["id"]).result,
                         "Workers search completed successfully.", "search")
        return self.store.workers.by_actor(access.actor["id"])

    def add_workers(self, access: Access, body: dict[str, Any]) -> Reply:
        """Ensure the actor has at least `num` workers (Abaco's WorkersResource.post): admins only."""
        actor = access.actor
        if not access.caller.is_admin:
            raise PermissionDenied("Not authorized -- only admins are authorized to update workers.")
        num = body.get("num") or 1
        current = self.store.workers.count_by_actor(actor["id"])
        if current >= num:
            return Reply(None, f"Actor {access.identifier} already had {num} worker(s).")
        if num > MAX_WORKERS_PER_ACTOR:  # each is a thread (or container) on this machine
            raise BadRequest(f"Actor {actor['id']} may have at most {MAX_WORKERS_PER_ACTOR} workers in this "
                             f"emulator.")
        self.engine.add_workers(actor["id"], num - current)
        return Reply(None, f"Scheduled {num - current} new worker(s) to start. Previously, there were "
                           f"{current} workers.")

    def get_worker(self, access: Access, worker_id: str) -> WorkerRecord:
        return self._worker(access.actor, worker_id)

    def _worker(self, actor: ActorRecord, worker_id: str) -> WorkerRecord:
        return _of_actor(self.store.workers, worker_id, actor, NotFound, "Worker not found.")

    def delete_worker(self, access: Access, worker_id: str) -> None:
        self._worker(access.actor, worker_id)
        self.engine.stop_worker(worker_id)
        return None

    # -- nonces (of an actor, or of an alias on the alias routes) -------------------------
    def _nonce_resource(self, access: Access) -> str:
        return self._resource_of(access)

    def list_nonces(self, access: Access) -> list[NonceRecord]:
        return self.store.nonces.by_actor(self._nonce_resource(access))

    def add_nonce(self, access: Access, body: dict[str, Any]) -> NonceRecord:
        for_alias = access.alias is not None
        level = body.get("level") or "EXECUTE"
        allowed = _ALIAS_NONCE_LEVELS if for_alias else _PERMISSION_LEVELS
        if level not in allowed:
            raise BadRequest(f"Invalid nonce description. The level attribute must be one of: {allowed}")
        max_uses = body.get("max_uses")
        max_uses = -1 if max_uses is None else max_uses
        if max_uses == 0 or max_uses < -1:
            raise BadRequest("The max uses parameter must be a positive integer or -1 (to denote unlimited uses).")
        nonce: NonceRecord = {
            "id": f"{access.tenant}_{models.new_id()}",
            "resource": self._nonce_resource(access),
            "actor_id": None if for_alias else access.actor["id"],
            "alias": access.alias["alias"] if access.alias is not None else None,
            "tenant": access.tenant,
            "api_server": self.options.api_server,
            "owner": access.caller.username,  # a nonce made with a nonce is its owner's: the request runs as them
            "roles": sorted(access.caller.roles),
            "level": level,
            "max_uses": max_uses,
            "current_uses": 0,
            "remaining_uses": max_uses,
            "description": body.get("description") or "",
            "create_time": self.engine.clock.stamp(),
            "last_use_time": None,
        }
        self.store.nonces.insert(nonce)
        return nonce

    def _nonce(self, access: Access, nonce_id: str) -> NonceRecord:
        nonce = self.store.nonces.get(nonce_id) if isinstance(nonce_id, str) else None
        if nonce is None or nonce["resource"] != self._nonce_resource(access):
            raise BadRequest("Nonce not found.")
        return nonce

    def get_nonce(self, access: Access, nonce_id: str) -> NonceRecord:
        return self._nonce(access, nonce_id)

    def delete_nonce(self, access: Access, nonce_id: str) -> None:
        self._nonce(access, nonce_id)
        self.store.nonces.delete(nonce_id)
        return None

    # -- aliases ---------------------------------------------------------------------
    def list_aliases(self, access: Access) -> list[AliasRecord]:
        """Every alias of the caller's tenant: Abaco lists them without a permission check."""
        return [a for a in self.store.aliases.all() if a["tenant"] == access.tenant]

    def _alias_record(self, tenant: str, alias: str) -> AliasRecord:
        record = self.store.aliases.get(models.alias_id(tenant, alias)) if isinstance(alias, str) else None
        if record is None:
            raise NotFound(f"No alias found: {alias}.")
        return record

    def add_alias(self, access: Access, body: dict[str, Any]) -> AliasRecord:
        alias, actor_id = body["alias"], body["actor_id"]
        problem = models.alias_problem(alias, self.options.reserved_aliases)
        if problem:
            raise BadRequest(problem)
        caller = access.caller
        actor = self.store.actors.get(actor_id) if isinstance(actor_id, str) else None
        if actor is None or actor["tenant"] != caller.tenant:
            raise NotFound(f"No actor found with id: {actor_id}.")
        if self.level_of(caller.username, actor["id"]) < Level.UPDATE:  # no admin bypass, as in Abaco
            raise PermissionDenied(f"Not authorized -- you do not have access to {actor_id}.")
        with self.store.transaction():
            key = models.alias_id(caller.tenant, alias)
            if self.store.aliases.get(key) is not None:
                raise BadRequest(f"Alias {alias} already exists.")
            record: AliasRecord = {"id": key, "alias": alias, "tenant": caller.tenant, "actor_id": actor["id"],
                                   "owner": caller.username, "create_time": self.engine.clock.stamp()}
            self.store.aliases.insert(record)
            self._grant(key, caller.username, Level.UPDATE)
        return record

    def get_alias(self, access: Access) -> AliasRecord:
        assert access.alias is not None
        return access.alias

    def update_alias(self, access: Access, body: dict[str, Any]) -> AliasRecord:
        assert access.alias is not None
        if "alias" in body:
            raise BadRequest("Invalid alias update description. The alias itself cannot be updated in a PUT request.")
        caller, actor_id = access.caller, body["actor_id"]
        actor = self.store.actors.get(actor_id) if isinstance(actor_id, str) else None
        if actor is None or actor["tenant"] != caller.tenant or not self._allowed(caller, actor_id, Level.UPDATE):
            raise PermissionDenied("Not authorized -- you do not have UPDATE access to the actor you want to "
                                   "associate with this alias.")
        updated = self.store.aliases.update(access.alias["id"], {"actor_id": actor["id"]})
        self._grant(updated["id"], caller.username, Level.UPDATE)
        return updated

    def delete_alias(self, access: Access) -> Reply:
        record = access.alias
        assert record is not None
        with self.store.transaction():
            for permission in self.store.permissions.by_actor(record["id"]):
                self.store.permissions.delete(permission["id"])
            for nonce in self.store.nonces.by_actor(record["id"]):
                self.store.nonces.delete(nonce["id"])
            self.store.aliases.delete(record["id"])
        return Reply(None, f"Alias {record['alias']} deleted successfully.")

    # -- executions ------------------------------------------------------------------
    def list_executions(self, access: Access, params: Mapping[str, Any] | None = None, q: Any = None) -> Any:
        """The executions summary; any query parameter makes it a search of them (as Abaco)."""
        actor = access.actor
        actor_id = actor["id"]
        if params or q is not None:
            return Reply(self.search(access, "executions", params, q, actor_id=actor_id).result,
                         "Executions search completed successfully.", "search")
        totals = self.store.sums_by_actor("executions", actor_id)
        return {
            "actor_id": actor_id,
            "owner": actor["owner"],
            "total_executions": self.store.executions.count_by_actor(actor_id),
            "total_cpu": totals["cpu"],
            "total_io": totals["io"],
            "total_runtime": totals["runtime"],
            "executions": self.store.executions.by_actor(actor_id),  # a dialect shows the fields of a summary
        }

    def add_execution(self, access: Access, body: dict[str, Any]) -> None:
        """Abaco's execution accounting route: it checks the numbers, then always fails to
        store the record (`Execution.add_execution` lacks the executor), so it answers 400
        and stores nothing. Reproduced as it is (README, differences)."""
        for name in ("runtime", "cpu", "io"):
            try:
                int(body[name])
            except (TypeError, ValueError):
                raise BadRequest(f"Argument {name} must be an integer.") from None
        raise BadRequest("Required field executor missing.")

    def _execution(self, actor: ActorRecord, execution_id: str) -> ExecutionRecord:
        return _of_actor(self.store.executions, execution_id, actor, BadRequest,
                         "No executions found with actor id of {actor_id} and execution id of {key}.")

    def get_execution(self, access: Access, execution_id: str) -> ExecutionRecord:
        return self._execution(access.actor, execution_id)

    def delete_execution(self, access: Access, execution_id: str) -> Reply:
        execution = self._execution(access.actor, execution_id)
        if execution["status"] != models.RUNNING:
            raise BadRequest("Cannot force quit an execution not in RUNNING status. Execution was found in status: "
                             f"{execution['status']}")
        self.engine.force_quit(execution_id)
        return Reply(None, f"Issued force quit command for execution {execution_id}.")

    def get_logs(self, access: Access, execution_id: str, params: Mapping[str, Any] | None = None) -> Any:
        execution = self._execution(access.actor, execution_id)
        if params:
            found = self.search(access, "logs", {**params}, actor_id=access.actor["id"], record_id=execution_id)
            return Reply(found.result, "Log search completed successfully.", "search")
        logs = self.store.logs.get(execution_id)
        return {"logs": logs["logs"] if logs else "", "actor_id": execution["actor_id"],
                "execution_id": execution_id, "executor": execution["executor"]}

    def get_live_logs(self, access: Access, execution_id: str,
                      params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The logs so far of a running execution (its stored logs once it ended), its status,
        and whether it ended: what `logs --follow` and the dashboard follow. With `offset`,
        only the text after that many characters (see overview.log_tail)."""
        execution = self._execution(access.actor, execution_id)
        live = self.engine.live_logs(execution_id)  # read after the status: then "finished" is never early
        if live is None:  # not running: it ended (its logs are stored with its status) or has not started
            execution = self._execution(access.actor, execution_id)
            stored = self.store.logs.get(execution_id)
            live = stored["logs"] if stored else ""
        return {**overview.log_tail(live, params or {}), "status": execution["status"],
                "finished": execution["status"] in models.FINISHED}

    # -- the emulator's own paged views (the dashboard's; see overview.py) -------------
    def overview_actors(self, access: Access, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return overview.actors_page(self, access, params or {})

    def overview_executions(self, access: Access, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return overview.executions_page(self, access, params or {})

    def overview_execution(self, access: Access, execution_id: str) -> dict[str, Any]:
        return overview.execution_detail(self, access, self._execution(access.actor, execution_id))

    def peek_result(self, access: Access, execution_id: str, index: str) -> bytes:
        self._execution(access.actor, execution_id)
        return overview.result_item(self, execution_id, index)

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
    def search(self, access: Access, search_type: str, params: Mapping[str, Any] | None = None,
               q: Any = None, *, actor_id: str | None = None, record_id: str | None = None) -> Reply:
        """Abaco's search: records of the caller's tenant on whose actor the caller holds an
        explicit permission entry, filtered by the query parameters (and `q`), one page.
        `actor_id` (and `record_id`) narrow it, as the query-string forms of other routes do."""
        if search_type not in SEARCH_TYPES:
            raise BadRequest(f"Inputted search_type {search_type} is invalid, must be one of {list(SEARCH_TYPES)}.")
        params = dict(params or {})
        skip = _search_int(params.pop("skip", None), "skip", 0)
        limit = _search_int(params.pop("limit", None), "limit", 100)
        caller = access.caller
        tenant_actors = {a["id"]: a for a in self.store.actors.all() if a["tenant"] == caller.tenant}
        visible = {aid for aid in tenant_actors if self._holds_explicit(caller.username, aid)}
        if actor_id is not None:
            visible &= {actor_id}
        one_actor = actor_id if search_type != "actors" else None
        if one_actor is not None and record_id is None and q is None and not filters(params):
            # One actor's records, unfiltered (`listExecutions(limit=...)`): a page of its index.
            total = self.store.count_by_actor(search_type, one_actor) if one_actor in visible else 0
            page = self.store.by_actor(search_type, one_actor, skip, limit) if total else []
        else:
            if search_type == "actors":
                records: list[Any] = [tenant_actors[aid] for aid in tenant_actors if aid in visible]
            elif one_actor is not None:
                records = self.store.by_actor(search_type, one_actor) if one_actor in visible else []
            else:
                records = [r for r in self.store.all(search_type) if r["actor_id"] in visible]
            matches = search_filter({key: str(value) for key, value in params.items()})
            query = mongo_filter(q) if q is not None else None
            records = [r for r in records if (record_id is None or r["id"] == record_id) and matches(r)
                       and (query is None or query(r))]
            total, page = len(records), paginate(records, skip, limit)
        return Reply({"_metadata": {"total_count": total, "records_skipped": skip, "record_limit": limit,
                                    "count_returned": len(page)},
                      "search": page, "search_type": search_type, "actors": tenant_actors},
                     "Search completed successfully.")

    # -- the emulator's clock (emulator only) ------------------------------------------
    def get_clock(self, access: Access) -> dict[str, Any]:
        return clock_view(self.engine.clock)

    def advance_clock(self, access: Access, body: dict[str, Any]) -> dict[str, Any]:
        """Move the clock forward: what is due in the span (cron executions, log expiry) happens first."""
        self.scheduler.advance(body.get("seconds"))
        return clock_view(self.engine.clock)

    # -- the service as a whole ------------------------------------------------------
    def utilization(self, access: Access) -> dict[str, Any]:
        """What Abaco's utilization route counts (over all tenants, as there)."""
        actors = self.store.actors.all()
        return {"current_actors": len(actors), "total_actors": self.store.counted("actors_registered"),
                "workers": len(self.store.workers.all()), "command_queue": 0}

    def admin_actors(self, access: Access) -> Reply:
        """Every actor of every tenant, with its workers and counts (admins only)."""
        out = []
        for actor in self.store.actors.all():
            summary = dict(actor)
            summary["workers"] = self.store.workers.by_actor(actor["id"])
            summary["messages"] = self.engine.queued(actor["id"])
            summary["executions"] = self.store.executions.count_by_actor(actor["id"])
            summary["runtime"] = self.store.sums_by_actor("executions", actor["id"])["runtime"]
            out.append(summary)
        return Reply(out, "Actors retrieved successfully.")

    def admin_workers(self, access: Access) -> Reply:
        workers = self.store.workers.all()
        actors = {a["id"]: a for a in self.store.actors.all()}
        statuses = [w["status"] for w in workers]
        summary = {
            "total_workers": len(workers),
            "ready_workers": statuses.count(models.WORKER_READY),
            "requested_workers": statuses.count(models.WORKER_REQUESTED),
            "error_workers": statuses.count(models.WORKER_ERROR),
            "busy_workers": statuses.count(models.WORKER_BUSY),
            "actors_no_workers": sum(1 for aid in actors if not self.store.workers.count_by_actor(aid)),
        }
        listed = [{**w, "actor_dbid": actors[w["actor_id"]]["db_id"] if w["actor_id"] in actors else None}
                  for w in workers]
        return Reply({"summary": summary, "workers": listed}, "Workers retrieved successfully.")

    def admin_executions(self, access: Access) -> Reply:
        actors = self.store.actors.all()
        rows: list[dict[str, Any]] = []
        for actor in actors:
            sums = self.store.sums_by_actor("executions", actor["id"])
            rows.append({"actor_id": actor["id"], "owner": actor["owner"], "image": actor["image"],
                         "total_executions": self.store.executions.count_by_actor(actor["id"]),
                         "total_execution_cpu": sums["cpu"], "total_execution_io": sums["io"],
                         "total_execution_runtime": sums["runtime"]})
        totals = {"total_actors_all": len(rows),
                  "total_actors_all_with_executions": sum(1 for r in rows if r["total_executions"]),
                  "total_executions_all": sum(r["total_executions"] for r in rows),
                  "total_execution_runtime_all": sum(r["total_execution_runtime"] for r in rows),
                  "total_execution_cpu_all": sum(r["total_execution_cpu"] for r in rows),
                  "total_execution_io_all": sum(r["total_execution_io"] for r in rows)}
        # The emulator keeps no executions of deleted actors apart: "existing" equals "all".
        totals.update({key.replace("_all", "_existing"): value for key, value in totals.items()})
        return Reply({"summary": totals, "actors": rows}, "Executions retrieved successfully.")


def _search_int(value: Any, name: str, default: int) -> int:
    """A search's `skip` or `limit` (Abaco answers 500 for a bad one: the emulator, 400)."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f'Inputted "{name}" paramater must be an int. Received: {value}') from None
    if number < 0:
        raise BadRequest(f'Inputted "{name}" must be positive. Received: {value}')
    return number


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
