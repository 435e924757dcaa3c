"""The Tapis v3 dialect: what tapipy and Abaco's `prod-v3` server show.

The v3 server is the v2 server with Tapis auth and naming, so this dialect shows the
same records with the same display rules (`abaco_v2.renderers_for`) through its own
`Wire`: keys in snake_case (the v3 default `web_case`; `case="camel"` is the switch
the real service has too), `_links` under `{api_server}/v3/actors/...` with owners at
`/v3/oauth2/profiles/{user}`, and role names as the Security Kernel spells them
(`abaco_admin`, `abaco_privileged`). Every answer is Tapis's envelope: `result`,
`status`, `message`, `version` and an empty `metadata`.

Request bodies are read with the names of the configured case: a snake body's
camelCase fields are unknown there and ignored, as reqparse ignores them. The v3 field
`run_as_executor` is read and refused, as on a tenant without TACC's TAS accounts.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ..auth import v3_role_names
from ..errors import BadRequest
from ..forms import SPECS, FormBody, _boolean, read_form, read_json
from ..keycase import to_camel, to_snake
from ..operations import Operation
from . import Dialect
from .abaco_v2 import Wire, _actor, _nonce, renderers_for

VERSION = "1.7.0"  # prod-v3's CHANGELOG
PREFIX = "/v3/actors"
CASES = ("snake", "camel")


def _same(name: str) -> str:
    return name


def _v3_nonce(record: Mapping[str, Any], base: str, wire: Wire) -> dict[str, Any]:
    """A nonce with the roles of its owner under their Security Kernel names."""
    out = _nonce(record, base, wire)
    if isinstance(out.get("roles"), list):
        out["roles"] = v3_role_names(out["roles"])
    return out


def _v3_actor(render: Callable[..., Any]) -> Callable[..., Any]:
    """v3 actors show `run_as_executor` (always false here: it is refused on this tenant)."""
    def shown(record: Mapping[str, Any], base: str, wire: Wire) -> dict[str, Any]:
        out = render(record, base, wire)
        out.setdefault(wire.key("run_as_executor"), False)
        return out
    return shown


class TapisV3(Dialect):
    """Tapis v3 Actors (`/v3/actors`), snake_case unless `case="camel"`."""

    name = "v3"
    prefixes = (PREFIX,)

    def __init__(self, case: str = "snake") -> None:
        if case not in CASES:
            raise ValueError(f"case must be one of {', '.join(CASES)}, not {case!r}")
        self.case = case
        self._key = to_camel if case == "camel" else _same
        self.wire = Wire(self._key, "v3/actors", "v3/oauth2/profiles")
        actor = _v3_actor(_actor)
        self.renderers: Mapping[str, Callable[[Any, str], Any]] = renderers_for(
            self.wire, actor=actor,
            actors=lambda records, base, wire: [actor(r, base, wire) for r in records],
            nonce=_v3_nonce, nonces=lambda records, base, wire: [_v3_nonce(r, base, wire) for r in records])

    def envelope(self, result: Any, message: str) -> dict[str, Any]:
        return {"result": result, "status": "success", "message": message, "version": VERSION, "metadata": {}}

    def error(self, message: str) -> dict[str, Any]:
        return {"result": None, "status": "error", "message": message, "version": VERSION, "metadata": {}}

    def read_body(self, operation: Operation, body: Any) -> Any:
        schema = operation.body
        if schema is None or schema == "message":
            return body
        if schema == "state":  # JSON only, as in v2
            return None if isinstance(body, FormBody) else body
        spec = SPECS[schema]
        if body is None:
            body = FormBody(())
        if isinstance(body, FormBody):
            read = read_form(spec, body, self._key)
            run_as_executor = _form_flag(body, self._key("run_as_executor"))
        else:
            # The schemas spell fields in camelCase: check the fields this case names there.
            known = self._in_case(body)
            read = read_json(spec, schema, known, self._key)
            run_as_executor = known.get("runAsExecutor") if isinstance(known, dict) else None
        if schema == "Actor":
            self._refuse_run_as_executor(read, run_as_executor)
        return read

    def _in_case(self, body: Any) -> Any:
        """A JSON object's fields of this case, camelCase (what the schemas name)."""
        if not isinstance(body, dict) or self.case == "camel":
            return body
        return {to_camel(key): value for key, value in body.items() if isinstance(key, str) and to_snake(key) == key}

    def _refuse_run_as_executor(self, actor: Mapping[str, Any], value: Any) -> None:
        """Abaco v3's checks of `run_as_executor`, in its order, on a tenant without TAS."""
        if value is None:
            return
        try:
            value = _boolean(value)
        except ValueError:
            raise BadRequest(f"Invalid actor description: {{'{self._key('run_as_executor')}': "
                             "'Whether UID and GID is of the executer'}") from None
        if value and actor.get("use_container_uid"):
            if self.case == "camel":
                raise BadRequest("Cannot set both useContainerUid and runAsExecutor as true")
            raise BadRequest("Cannot set both use_container_uid and run_as_executor as true")
        if value:
            raise BadRequest("run_as_executor isn't supported for your tenant")


def _form_flag(body: FormBody, name: str) -> Any:
    """A form field's first value (None when absent)."""
    values = body.values.get(name)
    return values[0] if values else None
