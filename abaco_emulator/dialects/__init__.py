"""Dialects: how one API looks on the wire, over the service's plain records.

The service takes and returns snake_case records with no envelope and no `_links`; a
dialect owns everything about their outside shape: the key case of answers and of
request bodies, `_links`, which nulls are shown, the envelope, and the path prefixes
it is served under. The in-process facade and the HTTP app both render through one.
A second API (Tapis v3) is a new module beside `abaco_v2.py`, not edits across the
service.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..operations import Operation


class Dialect(ABC):
    """One wire format of the actors API."""

    name: str
    prefixes: tuple[str, ...]  # the path prefixes its routes are served under, longest first

    @abstractmethod
    def render(self, kind: str, value: Any, api_server: str) -> Any:
        """An operation's result (`Operation.result` names its kind) as the wire shows it;
        `api_server` is the base URL of its `_links` (without a trailing slash)."""

    @abstractmethod
    def envelope(self, result: Any, message: str) -> dict[str, Any]:
        """A success answer."""

    @abstractmethod
    def error(self, message: str) -> dict[str, Any]:
        """An error answer (its `result` is null)."""

    @abstractmethod
    def read_body(self, operation: Operation, body: Any) -> Any:
        """A decoded request body (JSON value or form fields) as the service reads it:
        checked against the operation's schema, keys in snake_case."""
