"""Key case: Abaco names fields in snake_case inside and camelCase on the v2 wire.

Shared by the dialects (answers and request bodies) and the query parser (search
field names may be given in either case), so both convert names the same way.
"""
from __future__ import annotations

import functools
import re

_CAMEL = re.compile(r"_([a-z0-9])")
_SNAKE = re.compile(r"(?<=[a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=1024)  # a few dozen field names, converted on every answer
def to_camel(name: str) -> str:
    """`default_environment` -> `defaultEnvironment`; `_links` is left alone."""
    if name.startswith("_"):
        return name
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


@functools.lru_cache(maxsize=1024)
def to_snake(name: str) -> str:
    """`defaultEnvironment` -> `default_environment` (also for dotted paths)."""
    return ".".join(_SNAKE.sub(lambda m: "_" + m.group(1).lower(), part) for part in name.split("."))
