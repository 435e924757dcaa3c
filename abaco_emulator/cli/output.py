"""How the commands print answers: raw JSON for scripts, or readable cells and records.

Tables are printed by `abaco_emulator.table.print_table`, which the demo shares.
"""
from __future__ import annotations

import json
from typing import Any, Sequence


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def cell(value: object) -> str:
    """A value as a table shows it: strings as they are, None empty, the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def short_time(value: object) -> str:
    """A table's time: to the second (the JSON keeps the milliseconds)."""
    text = cell(value)
    if len(text) > 20 and text.endswith("Z") and "." in text:
        return text.split(".")[0] + "Z"
    return text


def print_record(record: dict[str, Any], first: Sequence[str] = ()) -> None:
    """A record as `key  value` lines: the keys in `first`, then the others (not `_links`)."""
    keys = [k for k in first if k in record] + [k for k in record if k not in first and k != "_links"]
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        print(f"{key.ljust(width)}  {cell(record[key])}".rstrip())
