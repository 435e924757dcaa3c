"""Request bodies read as Abaco reads them: flask-restful's reqparse, parameter by parameter.

Abaco parses every body it validates with a `RequestParser` over the JSON body, the form
fields and the query string, so `curl -d "image=x" -d "stateless=False"` (Abaco's own
documentation and test suite) is as valid as JSON. Each body's parameters are listed
here once, with reqparse's conversion, whether it is required, and the help text that
Abaco's error messages quote (`Invalid actor description: {'image': 'Reference to image
on docker hub for this actor.'}`).

Form values (always strings) are converted as reqparse converts them. JSON bodies keep
the strict type checks of `schemas.py`; what both share is the parameter list (unknown
fields are ignored), required fields, and reqparse's error message for a missing or
wrong field (a JSON one then says what is wrong), with the field as the dialect spells it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .errors import BadRequest, InvalidBody
from .keycase import to_camel, to_snake
from .schemas import describe_body, validate


@dataclass(frozen=True)
class Param:
    """One parameter of a body, as Abaco's PARAMS declare it."""

    name: str            # snake_case, as the service reads it
    kind: str            # "str", "bool", "int", "float", "dict", "list" (repeated str) or "truthy" (reqparse type=bool)
    help: str
    required: bool = False


@dataclass(frozen=True)
class BodySpec:
    """The parameters of one body and how its errors begin."""

    params: tuple[Param, ...]
    error_prefix: str    # what an error message starts with, up to the `{field: help}` part

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


class FormBody:
    """A body of form fields (with the query string, as reqparse's 'values' location merges
    them): each name with every value it was given, in order."""

    def __init__(self, values: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for key, value in values:
            self.values.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"FormBody({self.values!r})"


_ACTOR = (
    Param("name", "str", "User defined name for this actor."),
    Param("image", "str", "Reference to image on docker hub for this actor.", required=True),
    Param("stateless", "bool", "Whether the actor stores private state."),
    Param("type", "str", "Return type (none, bin, json) for this actor. Default is none."),
    Param("link", "str", "Actor identifier of actor to link this actor's events too. May be an actor id or an "
                         "alias. Cycles not permitted."),
    Param("token", "bool", "Whether this actor requires an OAuth access token."),
    Param("webhook", "str", "URL to publish this actor's events to."),
    Param("hints", "list", "Hints for personal tagging or Abaco special hints"),
    Param("description", "str", "Description of this actor"),
    Param("privileged", "bool", "Whether this actor runs in privileged mode."),
    Param("max_workers", "int", "How many workers this actor is allowed at the same time."),
    Param("mem_limit", "str", "maximum amount of memory this actor can use."),
    Param("max_cpus", "int", "Maximum number of CPUs (nanoCPUs) this actor will have available to it."),
    Param("use_container_uid", "bool", "Whether this actor runs as the UID set in the container image."),
    Param("default_environment", "dict", "A dictionary of default environmental variables and values."),
    Param("queue", "str", "The command channel that this actor uses."),
    Param("log_ex", "int", "Amount of time, in seconds, after which logs will expire"),
    Param("cron_on", "bool", "Whether cron is on or off"),
    Param("cron_schedule", "str", "yyyy-mm-dd hh + <number> <unit of time>"),
    Param("force", "truthy", "Whether to force an update of the actor image"),
    # The emulator's own: host mounts (refused unless the emulator allows them).
    Param("mounts", "list", "Host directories to mount into each execution's container."),
)

# Abaco's ActorConfig.PARAMS: all four required, on PUT too (whose name is then ignored).
_CONFIG = (
    Param("name", "str", "Name of the config", required=True),
    Param("value", "str", "The value of the config; JSON Serializable. Set as the ENV VAR value.", required=True),
    Param("is_secret", "bool", "Whether the config should be encrypted at rest and not retrievable.", required=True),
    Param("actors", "str", "List of actor IDs or aliases that should get this config/secret.", required=True),
)

_ALIAS_ACTOR_ID = Param("actor_id", "str", "The human readable id for the actor associated with this alias.",
                        required=True)

SPECS: dict[str, BodySpec] = {
    "Actor": BodySpec(_ACTOR, "Invalid actor description: "),
    "AddNonceRequest": BodySpec((
        Param("level", "str", "Permission level associated with this nonce. Default is EXECUTE."),
        Param("max_uses", "int", "Maximum number of times this nonce can be redeemed. Default is unlimited."),
        Param("description", "str", "Description of this nonce"),
    ), "Invalid nonce description: "),
    "AddAliasRequest": BodySpec((
        Param("alias", "str", "Actual alias for the actor; must be unique within a tenant.", required=True),
        _ALIAS_ACTOR_ID,
    ), "Invalid alias description. Missing required field: "),
    "UpdateAliasRequest": BodySpec((
        _ALIAS_ACTOR_ID,
        Param("alias", "str", "The alias itself (a PUT may not change it)."),
    ), "Invalid alias description. Missing required field: "),
    "PermissionsUpdateRequest": BodySpec((
        Param("user", "str", "User owning the permission.", required=True),
        Param("level", "str", "Level of the permission: ('NONE', 'READ', 'EXECUTE', 'UPDATE')", required=True),
    ), "Invalid permissions description: "),
    "ActorConfig": BodySpec(_CONFIG, "Invalid config description. Missing required field: "),
    # (Abaco's PUT handler words its errors as its alias handler does.)
    "ActorConfigUpdate": BodySpec(_CONFIG, "Invalid alias description. Could not determine if required fields "
                                           "are present. Is the body valid JSON? Details: "),
    "AddWorkersRequest": BodySpec((
        Param("num", "int", "Number of workers to start (default is 1)."),
    ), "Invalid POST: "),
    "AddExecutionRequest": BodySpec((
        Param("runtime", "str", "Runtime, in milliseconds, of the execution.", required=True),
        Param("cpu", "str", "CPU usage, in user jiffies, of the execution.", required=True),
        Param("io", "str", "Block I/O usage, in number of 512-byte sectors read from and written to, by the "
                           "execution.", required=True),
    ), "Invalid actor execution description: "),
    "AdvanceClockRequest": BodySpec((
        Param("seconds", "float", "Seconds to move the emulator's clock forward.", required=True),
    ), "Invalid clock request: "),
}


def _boolean(value: Any) -> bool:
    """flask-restful's inputs.boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    raise ValueError(value)


def _dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise ValueError(value)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "str": str, "bool": _boolean, "int": int, "float": float, "dict": _dict, "truthy": bool,
}


def _invalid(spec: BodySpec, name: str, param: Param) -> BadRequest:
    """reqparse's error (`{field: help}`, the field as the request named it), with Abaco's prefix."""
    return BadRequest(spec.error_prefix + repr({name: param.help}))


def read_form(spec: BodySpec, body: FormBody, wire_name: Callable[[str], str]) -> dict[str, Any]:
    """The parameters `body` gives, converted as reqparse converts them (snake_case keys);
    absent ones are left out (the service applies defaults), unknown ones ignored."""
    out: dict[str, Any] = {}
    for param in spec.params:
        name = wire_name(param.name)
        values = body.values.get(name)
        if not values:
            if param.required:
                raise _invalid(spec, name, param)
            continue
        if param.kind == "list":
            out[param.name] = list(values)
            continue
        try:
            out[param.name] = _CONVERT[param.kind](values[0])
        except (TypeError, ValueError):
            raise _invalid(spec, name, param) from None
    return out


def read_json(spec: BodySpec, schema_name: str, body: Any, wire_name: Callable[[str], str]) -> dict[str, Any]:
    """The parameters a JSON object gives (`body` spelt as the schemas spell it, camelCase;
    its types checked by the schema), snake_case keys; errors name a field as `wire_name`
    spells it. A wrong field is refused with reqparse's message (Abaco's), then what is
    wrong; a missing required one is reqparse's error. A null is kept (reqparse's default
    is not applied to it)."""
    try:
        validate(schema_name, body, describe_body(schema_name), lambda field: wire_name(to_snake(field)))
    except InvalidBody as exc:
        param = spec.param(to_snake(exc.field)) if exc.field else None
        if param is None:
            raise
        raise BadRequest(f"{_invalid(spec, wire_name(param.name), param).message} ({exc.details}).") from None
    out: dict[str, Any] = {}
    for param in spec.params:
        name = to_camel(param.name)
        if name not in body:
            if param.required:
                raise _invalid(spec, wire_name(param.name), param)
            continue
        value = body[name]
        if param.required and value is None:
            raise _invalid(spec, wire_name(param.name), param)
        if param.kind == "bool" and isinstance(value, str):  # where the schema lets a string through (token)
            try:
                value = _boolean(value)
            except ValueError:
                raise _invalid(spec, wire_name(param.name), param) from None
        out[param.name] = [value] if param.kind == "list" and isinstance(value, str) else value
    return out
