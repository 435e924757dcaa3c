"""Records the emulator stores, their defaults, statuses and identifiers.

Records are plain dicts with snake_case keys, as the real service stores them, typed
here as TypedDicts so every layer agrees on their fields; how they look on the wire
(camelCase, `_links`, the envelope) is a dialect's business (`dialects/`).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any, NamedTuple, NotRequired, Optional, TypedDict

import hashids


ABACO_WORLD = "ABACO_WORLD"
ADMIN_ROLE = "Internal/abaco-admin"
PRIVILEGED_ROLE = "Internal/abaco-privileged"

# Actor statuses.
SUBMITTED = "SUBMITTED"
READY = "READY"
ERROR = "ERROR"
SHUTTING_DOWN = "SHUTTING_DOWN"

# Execution statuses (SUBMITTED and ERROR are shared with actors).
RUNNING = "RUNNING"
COMPLETE = "COMPLETE"
# An execution in one of these has ended: nothing about it changes any more.
FINISHED = frozenset({COMPLETE, ERROR})

# Worker statuses.
WORKER_REQUESTED = "REQUESTED"
WORKER_READY = "READY"
WORKER_BUSY = "BUSY"
WORKER_SHUTTING_DOWN = "SHUTTING_DOWN"
WORKER_ERROR = "ERROR"

# How the Docker runner gets an actor's image (the emulator never pulls by default).
PULL_POLICIES = ("never", "missing", "always")

RESERVED_ALIASES = frozenset({"executions", "nonces", "logs", "messages", "adapters", "admin"})
FORBIDDEN_ALIAS_CHARACTERS = ("\\", " ", '"', ":", "/", "?", "#", "[", "]", "@", "!", "$", "&", "'", "(", ")", "*",
                              "+", ",", ";", "=")

LOG_LIMIT = 1_000_000
LOG_TRUNCATED_SUFFIX = " LOG LIMIT EXCEEDED; this execution log was TRUNCATED!"
MAX_RESULT_BYTES = 131072
# The emulator's own bound on one execution's results (Abaco has none documented): an
# actor that floods the results socket must not fill the emulator's memory or store.
MAX_RESULTS_PER_EXECUTION = 100_000
MAX_RESULTS_TOTAL_BYTES = 64 * 1024 * 1024


class Level(IntEnum):
    """Permission levels, ordered so that a higher level includes the lower ones."""

    NONE = 0
    READ = 1
    EXECUTE = 2
    UPDATE = 3

    @classmethod
    def parse(cls, value: Any) -> "Level":
        """The level named by `value`; raises ValueError for anything else."""
        level = _LEVELS_BY_NAME.get(value.upper()) if isinstance(value, str) else None
        if level is None:
            raise ValueError(value)
        return level


# Level.parse runs on every permission check: a dict, not the Enum's own name lookup.
_LEVELS_BY_NAME = {level.name: level for level in Level}


# Abaco's ids: hashids of the time-based half of a uuid1, with Abaco's salt
# (`AbacoDAO.get_uuid`). Code that tells ids from aliases decodes them (python-reactors'
# is_hashid), so the emulator's ids must decode the same way.
_HASHIDS = hashids.Hashids(salt="eJa5wZlEX4eWU")
# Who a cron execution runs for: no user (Abaco's CronResource sends no `_abaco_username`).
CRON_EXECUTOR = "cron"


def new_id() -> str:
    """A new id of an actor, execution, worker or nonce, as Abaco makes them (12 or 13 characters)."""
    return str(_HASHIDS.encode(uuid.uuid1().int >> 64))


def looks_like_id(value: str) -> bool:
    """Whether `value` decodes as an Abaco id (so it names an actor, and may not be an alias)."""
    return bool(_HASHIDS.decode(value))


def format_time(moment: datetime) -> str:
    """ISO-8601 with milliseconds and a trailing Z (the form Abaco meant to emit)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """Read a time written by `format_time` (or any ISO-8601 string)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ActorRecord(TypedDict):
    id: str
    db_id: str
    name: Optional[str]
    image: str
    owner: str
    status: str
    status_message: str
    revision: int
    create_time: str
    last_update_time: str
    tenant: str
    description: str
    default_environment: dict[str, Any]
    stateless: bool
    privileged: bool
    use_container_uid: bool
    token: str
    hints: list[Any]
    link: str
    webhook: str
    mounts: list[dict[str, Any]]
    max_workers: Optional[int]
    mem_limit: Any
    max_cpus: Optional[int]
    queue: str
    cron_on: bool
    cron_schedule: Optional[str]
    cron_next_ex: Optional[str]
    log_ex: Optional[int]
    state: Any
    type: str
    # Abaco looks these up in TACC's accounts service; the emulator has none, so they stay None.
    uid: Optional[str]
    gid: Optional[str]
    tasdir: Optional[str]


class ExecutionRecord(TypedDict):
    id: str
    actor_id: str
    api_server: str
    executor: str
    worker_id: Optional[str]
    status: str
    message_received_time: str
    start_time: Optional[str]
    finish_time: Optional[str]
    runtime: int
    cpu: int
    io: int
    exit_code: Optional[int]
    final_state: Optional[dict[str, Any]]


class WorkerRecord(TypedDict):
    id: str
    actor_id: str
    status: str
    ch_name: str
    image: str
    location: str
    cid: Optional[str]
    host_id: str
    host_ip: str
    create_time: str
    last_execution_time: Optional[str]
    last_health_check_time: str
    tenant: Optional[str]


class NonceRecord(TypedDict):
    """An actor's nonce (`actor_id` set) or an alias's (`alias` set, `actor_id` None).
    `resource` is what it is indexed by: the actor id, or the alias's id."""

    id: str
    resource: str
    actor_id: Optional[str]
    alias: Optional[str]
    tenant: str
    api_server: str
    owner: str
    roles: list[str]
    level: str
    max_uses: int
    current_uses: int
    remaining_uses: int
    description: str
    create_time: str
    last_use_time: Optional[str]


class AliasRecord(TypedDict):
    """`id` is `<TENANT>_<alias>`: an alias is unique within its tenant only."""

    id: str
    alias: str
    tenant: str
    actor_id: str
    owner: str
    create_time: str


class PermissionRecord(TypedDict):
    """A user's level on a resource (an actor id, an alias id): `id` is `resource:user`."""

    id: str
    actor_id: str
    user: str
    level: str


class MessageRecord(TypedDict):
    """An accepted message, kept until its execution is recorded (`contract.Message.to_record`)."""

    id: str
    actor_id: str
    message: dict[str, Any]
    environment: dict[str, str]


class LogRecord(TypedDict):
    id: str
    actor_id: str
    logs: str
    # When the logs expire (seconds since the epoch, on the emulator's clock); None: never.
    expires_at: NotRequired[float | None]


class EventRecord(TypedDict):
    """A webhook POST not yet made: kept until it is, so a crash loses no event."""

    id: str
    actor_id: str
    url: str
    event: dict[str, Any]


class ResultRecord(TypedDict):
    """The results an execution sent and nobody read yet, base64-encoded, oldest first."""

    id: str
    actor_id: str
    items: list[str]


class ConfigRecord(TypedDict):
    """An actor config: `id` is `<TENANT>_<name>` (Abaco's `get_config_db_key`); `value` is
    the Fernet token of a secret one; `actors` the comma-separated ids and aliases sent."""

    id: str
    tenant: str
    name: str
    value: str
    is_secret: bool
    actors: str


class Reply(NamedTuple):
    """A result whose envelope message depends on what happened (workers scheduled, an
    alias deleted), instead of its operation's fixed message; `kind` when it is another
    kind of result than its operation's (a listing that became a search)."""

    result: Any
    message: str
    kind: Optional[str] = None


# What `token` is when an actor's description does not say: Abaco's configured default,
# the string "false" (local-dev.conf; its own suite expects it), not a boolean.
DEFAULT_TOKEN = "false"


def actor_defaults() -> dict[str, Any]:
    """The user-settable fields of an actor with their defaults: what PUT resets to."""
    return {
        "description": "",
        "default_environment": {},
        "stateless": True,
        "privileged": False,
        "use_container_uid": False,
        "token": DEFAULT_TOKEN,
        "type": "none",
        "hints": [],
        "link": "",
        "webhook": "",
        "mounts": [],
        "max_workers": None,
        "mem_limit": None,
        "max_cpus": None,
        "queue": "default",
        "cron_on": False,
        "cron_schedule": None,
        "log_ex": None,
    }


def alias_id(tenant: str, alias: str) -> str:
    """The key of an alias: unique within its tenant (Abaco's `Alias.generate_alias_id`)."""
    return f"{tenant}_{alias}"


def alias_problem(alias: str, reserved: frozenset[str]) -> str | None:
    """Why `alias` cannot be an alias (given the words it may not be), or None if it can.
    The messages are Abaco's (`Alias.check_reserved_words`, `check_forbidden_char`)."""
    if not alias:
        return "Invalid alias description. Missing required field: {'alias': 'Actual alias for the actor; " \
               "must be unique within a tenant.'}"
    if looks_like_id(alias):
        return "Invalid alias description. Alias cannot be an Abaco hash id."
    if alias in reserved:
        return (f"{alias} is a reserved word. The following reserved words cannot be used for an alias: "
                f"{sorted(reserved)}.")
    for char in FORBIDDEN_ALIAS_CHARACTERS:
        if char in alias:
            listed = "', '".join(FORBIDDEN_ALIAS_CHARACTERS)
            return (f"'{char}' is a forbidden character. The following characters cannot be used for an alias: "
                    f"['{listed}'].")
    return None
