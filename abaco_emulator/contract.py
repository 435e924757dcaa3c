"""The container contract: what a message becomes and what an execution sees.

Shared by every transport (how a request body becomes a `Message`) and every runner
(the environment of an execution), so both runners honour one contract.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import BadRequest
from .schemas import check_depth

STR = "str"
JSON = "application/json"
BINARY = "application/octet-stream"
BINARY_OMITTED = "binary - omitted"
UNSERIALIZABLE = ("message POST body could not be serialized. "
                  "Pass JSON data or use the message attribute.")

# Query parameters of a message POST that are not environment variables (Abaco passes
# every other one, x-nonce and _abaco_synchronous included).
RESERVED_QUERY_PARAMETERS = frozenset({"message"})


@dataclass(frozen=True)
class Message:
    """One accepted message: its kind, what MSG holds, and the bytes of a binary one."""

    content_type: str
    text: str | None = None
    payload: Any = None
    data: bytes | None = None

    @property
    def shown(self) -> Any:
        """What the `msg` field of the send answer shows."""
        if self.content_type == BINARY:
            return BINARY_OMITTED
        return self.payload if self.content_type == JSON else self.text

    def to_record(self) -> dict[str, Any]:
        return {
            "content_type": self.content_type,
            "text": self.text,
            "payload": self.payload,
            "data": base64.b64encode(self.data).decode("ascii") if self.data is not None else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Message":
        data = record.get("data")
        return cls(record["content_type"], record.get("text"), record.get("payload"),
                   base64.b64decode(data) if data is not None else None)


def message_from_json(value: Any) -> Message:
    """A JSON request body, as Abaco reads it: a `message` field (parsed with type=str, so an
    object becomes its Python repr) is a string message; without one (or with an empty
    one) the whole body is a JSON message."""
    if isinstance(value, dict) and value.get("message") not in (None, ""):
        return Message(STR, text=str(value["message"]))
    if not isinstance(value, (dict, list)):
        raise BadRequest(UNSERIALIZABLE)
    check_depth(value, "message")
    # Abaco put the Python repr of the object in MSG; agavepy's get_context() reads it
    # back with ast.literal_eval, which needs Python literals (True, None), not JSON.
    return Message(JSON, text=repr(value), payload=value)


def message_from_request(content_type: str | None, body: bytes, form_message: str | None = None) -> Message:
    """A message POST as the service receives it, whichever transport carried it
    (Abaco's MessagesResource.validate_post)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if form_message:
        return Message(STR, text=form_message)
    if media == BINARY:
        return Message(BINARY, data=bytes(body))
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(UNSERIALIZABLE) from None
    if media == JSON or not media:
        return message_from_json(value)
    # Another type whose body is JSON: Abaco takes the value itself as a string message.
    if isinstance(value, (dict, list)):
        check_depth(value, "message")
    return Message(STR, text=value if isinstance(value, str) else str(value))


def environment_for(actor: Mapping[str, Any], message: Message, message_environment: Mapping[str, str],
                    *, execution_id: str, worker_id: str, username: str | None, api_server: str,
                    access_token: str, state: Any, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one execution; later sources override earlier ones. `extra` is
    what the worker adds last (`_actor_configs`), as Abaco's execute_actor adds it. An
    execution for no user (a cron one) has no `_abaco_username`, as on Abaco."""
    env: dict[str, str] = {}
    env.update({str(k): _text(v) for k, v in (actor.get("default_environment") or {}).items()})
    env.update({str(k): _text(v) for k, v in message_environment.items()})
    env.update({
        "_abaco_username": username or "",
        "_abaco_api_server": api_server,
        "_abaco_execution_id": execution_id,
        # (agavepy's and tapipy's get_context() read "_abaco_Content-Type", which Abaco
        # does not set: their content_type is None there, and so it is here.)
        "_abaco_Content_Type": message.content_type,
        "_abaco_actor_revision": str(actor.get("revision", 1)),
        "_abaco_access_token": access_token,
        "_abaco_actor_dbid": actor["db_id"],
        "_abaco_actor_id": actor["id"],
        "_abaco_worker_id": worker_id,
        "_abaco_container_repo": actor["image"],
        "_abaco_actor_state": _text(state if state is not None else {}),
        "_abaco_actor_name": actor.get("name") or "None",
    })
    env.update(extra or {})
    if message.content_type != BINARY:
        env["MSG"] = message.text or ""
    else:
        env.pop("MSG", None)
    if username is None:
        del env["_abaco_username"]
    return env


def _text(value: Any) -> str:
    """A variable's value as docker-py writes `{key}={value}`: str(), so a dict is its Python repr."""
    return value if isinstance(value, str) else str(value)
