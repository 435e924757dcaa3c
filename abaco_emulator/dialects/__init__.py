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
from typing import Any, Callable, Mapping

from ..operations import Operation


def unchanged(value: Any, api_server: str) -> Any:
    """The renderer of results whose wire shape is the service's own (a state, a permissions
    map, bytes, nothing)."""
    return value


class Dialect(ABC):
    """One wire format of the actors API."""

    name: str
    prefixes: tuple[str, ...]  # the path prefixes its routes are served under, longest first

    # For every result kind of the operation table (`Operation.result`), what shows such a
    # result as the wire shows it, given the result and `api_server`, the base URL of its
    # `_links` (without a trailing slash). A mapping, not a method: it is used per request.
    renderers: Mapping[str, Callable[[Any, str], Any]]

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
