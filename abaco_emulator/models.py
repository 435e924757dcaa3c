"""Records the emulator stores, their defaults, statuses and identifiers.

Records are plain dicts with snake_case keys, as the real service stores them, typed
here as TypedDicts so every layer agrees on their fields; how they look on the wire
(camelCase, `_links`, the envelope) is a dialect's business (`dialects/`).
"""
from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any, Optional, TypedDict

_ID_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 13
_ID_PATTERN = re.compile(r"^[A-Za-z0-9]{%d}$" % ID_LENGTH)

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
FORBIDDEN_ALIAS_CHARACTERS = frozenset('\\":/?#[]@!$&\'()*+,;= ')

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


_ID_BYTE_LIMIT = 256 - 256 % len(_ID_ALPHABET)  # bytes at or above it would bias the choice


def new_id() -> str:
    """A 13-character mixed-case alphanumeric id, the form of Abaco's hashids.

    One read of random bytes per id (not one per character): ids are made on every
    message, execution and worker.
    """
    while True:
        usable = [b for b in secrets.token_bytes(ID_LENGTH + 8) if b < _ID_BYTE_LIMIT]
        if len(usable) >= ID_LENGTH:
            return "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in usable[:ID_LENGTH])


def looks_like_id(value: str) -> bool:
    """Whether `value` has the form of an actor id (so it may not be an alias)."""
    return bool(_ID_PATTERN.match(value))


def now() -> str:
    """The current UTC time as ISO-8601 with milliseconds and a trailing Z."""
    return format_time(datetime.now(timezone.utc))


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
    log_ex: Optional[int]
    state: Any


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
    create_time: str
    last_execution_time: Optional[str]
    last_health_check_time: str
    tenant: Optional[str]


class NonceRecord(TypedDict):
    id: str
    actor_id: str
    alias: Optional[str]
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
    alias: str
    actor_id: str
    owner: str
    create_time: str


class PermissionRecord(TypedDict):
    """A user's level on a resource (an actor id or an alias): `id` is `resource:user`."""

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


class ResultRecord(TypedDict):
    """The results an execution sent and nobody read yet, base64-encoded, oldest first."""

    id: str
    actor_id: str
    items: list[str]


def actor_defaults() -> dict[str, Any]:
    """The user-settable fields of an actor with their defaults: what PUT resets to."""
    return {
        "description": "",
        "default_environment": {},
        "stateless": True,
        "privileged": False,
        "use_container_uid": False,
        "token": "false",
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


def alias_problem(alias: str, reserved: frozenset[str]) -> str | None:
    """Why `alias` cannot be an alias (given the words it may not be), or None if it can."""
    if not alias:
        return "Invalid alias: an alias may not be empty."
    if looks_like_id(alias):
        return f"Invalid alias: {alias} has the form of an actor id; choose a name that does not."
    if alias in reserved:
        return f"Invalid alias: {alias} is a reserved word; the reserved words are: {', '.join(sorted(reserved))}."
    bad = sorted({c for c in alias if c in FORBIDDEN_ALIAS_CHARACTERS})
    if bad:
        shown = " ".join("space" if c == " " else c for c in bad)
        return f"Invalid alias: {alias!r} contains characters that are not allowed: {shown}."
    return None
