"""Actor configs: named values (secrets among them) that Abaco hands to chosen actors.

A config has a `name` (unique in its tenant), a `value`, `isSecret` and `actors`, the
comma-separated actor ids and aliases it is for, kept as the string sent. Every
execution of a matching actor gets `_actor_configs` in its environment: the Python repr
of a dict of name -> value, as docker-py writes the dict Abaco's worker puts there
(`docker_utils.execute_actor`). A secret value is sealed (`sealing.py`) before it is
stored, shown as its token, and opened only into that environment.

The rules are those of Abaco's `ActorConfig*Resource` and `auth.authorization`:
anyone with an Abaco role lists every config of the tenant and creates configs (for
actors they need not hold UPDATE on: the real service checks and ignores the answer,
reproduced); one config is read with READ on it and changed, deleted or shared with
UPDATE; admins pass every check. Its permissions are kept with the others, under a
resource id of its own (`config_resource`), so a config never shares them with an
alias of the same name.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Mapping

from . import models
from .auth import Caller
from .errors import BadRequest, NotFound, PermissionDenied
from .models import ActorRecord, ConfigRecord, Level, Reply
from .sealing import Sealer

if TYPE_CHECKING:
    from .service import Access, ActorsService

log = logging.getLogger(__name__)

# Abaco's ActorConfig.RESERVED_WORDS and FORBIDDEN_CHAR, in its order (messages quote them).
RESERVED_WORDS = ["executions", "nonces", "logs", "messages", "adapters", "admin", "utilization"]
FORBIDDEN_CHARACTERS = [":", "/", "?", "#", "[", "]", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=",
                        " "]
ENVIRONMENT_VARIABLE = "_actor_configs"


def config_id(tenant: str, name: str) -> str:
    """The key of a config: unique within its tenant (Abaco's `get_config_db_key`)."""
    return f"{tenant}_{name}"


def config_resource(tenant: str, name: str) -> str:
    """What a config's permissions are recorded under (never an actor id or alias id)."""
    return "config:" + config_id(tenant, name)


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a config (Abaco's messages), or None if it can."""
    if not name:  # the emulator's: a config without a name has no URL
        return "Invalid config description: the name of a config cannot be empty."
    if name in RESERVED_WORDS:
        return (f"{name} is a reserved word. The following reserved words cannot be used for a config: "
                f"{RESERVED_WORDS}.")
    for char in FORBIDDEN_CHARACTERS:
        if char in name:
            return (f"'{char}' is a forbidden character. The following characters cannot be used for a config "
                    f"name: [{''.join(FORBIDDEN_CHARACTERS)}].")
    return None


def listed_actors(actors: str) -> list[str]:
    """The ids and aliases a config's `actors` string names (split at commas, stripped)."""
    return [part.strip() for part in re.split(",", actors)]


class ConfigsService:
    """The config operations of one `ActorsService` (rows `service="configs.<method>"`)."""

    def __init__(self, service: "ActorsService", sealer: Sealer) -> None:
        self._service = service
        self._store = service.store
        self.sealer = sealer

    # -- authorization (called by ActorsService.authorize for target "config") -----------
    def authorize(self, caller: Caller, name: str, level: Level) -> None:
        """READ on the config to read it, UPDATE to change, delete or share it; admins pass."""
        if caller.is_admin:
            return
        resource = config_resource(caller.tenant, name)
        if not self._store.permissions.by_actor(resource):
            raise BadRequest(f"Config {config_id(caller.tenant, name)} does not exist")
        if self._service.level_of(caller.username, resource) < level:
            raise PermissionDenied("You do not have sufficient access to this actor config.")

    # -- the operations --------------------------------------------------------------
    def list_configs(self, access: "Access") -> list[ConfigRecord]:
        """Every config of the caller's tenant: Abaco lists them without a permission check."""
        return self._store.configs.by_actor(access.tenant)

    def add_config(self, access: "Access", body: dict[str, Any]) -> ConfigRecord:
        caller = access.caller
        fields = self._fields(caller, body)
        name = _text(body["name"])
        problem = name_problem(name)
        if problem:
            raise BadRequest(problem)
        record: ConfigRecord = {"id": config_id(caller.tenant, name), "tenant": caller.tenant, "name": name,
                                "value": fields["value"], "is_secret": fields["is_secret"], "actors": fields["actors"]}
        with self._store.transaction():
            if self._store.configs.get(record["id"]) is not None:
                raise BadRequest(f"Config {name} already exists; please choose another name for your config")
            self._store.configs.insert(record)
            self._service._grant(config_resource(caller.tenant, name), caller.username, Level.UPDATE)
        return record

    def get_config(self, access: "Access") -> ConfigRecord:
        return self._config(access, "No config found: {name}.")

    def update_config(self, access: "Access", body: dict[str, Any]) -> ConfigRecord:
        """Replace a config's value, secrecy and actors; its name stays (the body's is ignored)."""
        current = self._config(access, "No config found: {name}.")
        fields = self._fields(access.caller, body)
        return self._store.configs.update(current["id"], fields)

    def delete_config(self, access: "Access") -> Reply:
        record = self._config(access, "No config found with name: {name}.")
        resource = config_resource(record["tenant"], record["name"])
        with self._store.transaction():
            for permission in self._store.permissions.by_actor(resource):
                self._store.permissions.delete(permission["id"])
            self._store.configs.delete(record["id"])
        return Reply(None, f"Actor config {record['name']} deleted successfully.")

    def get_config_permissions(self, access: "Access") -> dict[str, str]:
        return self._service._permissions_map(self._permissions_resource(access))

    def update_config_permissions(self, access: "Access", body: dict[str, Any]) -> dict[str, str]:
        return self._service.set_permission(self._permissions_resource(access), body)

    # -- what an execution sees ----------------------------------------------------------
    def execution_environment(self, actor: ActorRecord) -> dict[str, str]:
        """`_actor_configs` for an execution of `actor`: its tenant's configs that name the
        actor's id or one of its aliases, secrets opened. One that cannot be opened (the
        store was sealed with another key) is left out and logged, without its value."""
        tenant = actor["tenant"]
        names = {actor["id"]} | {alias["alias"] for alias in self._store.aliases.by_actor(actor["id"])
                                 if alias["tenant"] == tenant}
        configs: dict[str, str] = {}
        for config in self._store.configs.by_actor(tenant):
            if names.isdisjoint(listed_actors(config["actors"])):
                continue
            value = config["value"]
            if config["is_secret"]:
                opened = self.sealer.open(value)
                if opened is None:
                    log.warning("actor config %s of tenant %s is sealed with another key than this emulator's "
                                "(--config-key): left out of the execution's %s", config["name"], tenant,
                                ENVIRONMENT_VARIABLE)
                    continue
                value = opened
            configs[config["name"]] = value
        return {ENVIRONMENT_VARIABLE: str(configs)}

    # -- helpers ---------------------------------------------------------------------
    def _config(self, access: "Access", missing: str) -> ConfigRecord:
        name = access.identifier or ""
        record = self._store.configs.get(config_id(access.tenant, name))
        if record is None:
            raise NotFound(missing.format(name=name))
        return record

    def _permissions_resource(self, access: "Access") -> str:
        """A config's permissions: they exist as long as the config does."""
        name = access.identifier or ""
        resource = config_resource(access.tenant, name)
        if self._store.configs.get(config_id(access.tenant, name)) is None:
            raise NotFound(f"Config {config_id(access.tenant, name)} does not exist")
        return resource

    def _fields(self, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        """The checked value, secrecy and actors of a body (POST and PUT alike)."""
        actors = _text(body["actors"])
        for identifier in listed_actors(actors):
            if not self._names_actor(caller.tenant, identifier):
                raise NotFound(f"No actor or alias found with id: {identifier}.")
            # Abaco asks here whether the caller holds UPDATE on the actor and ignores the
            # answer: anyone may give a config to any actor of the tenant (README, differences).
        value = _text(body["value"])
        is_secret = bool(body["is_secret"])
        return {"value": self.sealer.seal(value) if is_secret else value, "is_secret": is_secret,
                "actors": actors}

    def _names_actor(self, tenant: str, identifier: str) -> bool:
        """Whether `identifier` is an actor id or an alias of the tenant."""
        actor = self._store.actors.get(identifier) if identifier else None
        if actor is not None and actor["tenant"] == tenant:
            return True
        return bool(identifier) and self._store.aliases.get(models.alias_id(tenant, identifier)) is not None


def _text(value: Any) -> str:
    """A parameter read with reqparse's type=str: a JSON number, boolean or object as its str()."""
    return value if isinstance(value, str) else str(value)
