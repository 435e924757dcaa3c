"""The dict with attribute access that agavepy returns (`actor.id == actor["id"]`)."""
from __future__ import annotations

from typing import Any


class AttrDict(dict):
    """A dict whose keys are also attributes, like `agavepy.agave.AttrDict`."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


def as_model(value: Any) -> Any:
    """A result as agavepy returns it: dicts as AttrDicts, at the top level (or each item of a list)."""
    if isinstance(value, dict):
        return AttrDict(value)
    if isinstance(value, list):
        return [AttrDict(v) if isinstance(v, dict) else v for v in value]
    return value
