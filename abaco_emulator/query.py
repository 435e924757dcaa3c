"""Filtering for `list`, `listExecutions` and search: MongoDB-style `q` and search parameters.

Records are the stored (snake_case) documents; field names may be given in camelCase
too. Dotted names reach nested keys (`final_state.ExitCode`).
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Callable, Mapping

from .errors import BadRequest
from .models import parse_time
from .schemas import check_depth
from .keycase import to_snake

SEARCH_TYPES = ("actors", "workers", "executions", "logs")
SEARCH_OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "nin", "like", "nlike", "between")
# Parameters that are not field matches. `offset` is one, as on Abaco (agavepy 0.9.5 and
# tapipy page with it, and find nothing): only `skip` skips.
_NOT_FIELDS = {"search", "exactsearch", "skip", "limit", "x-nonce", "q"}
_MISSING = object()

Predicate = Callable[[Mapping[str, Any]], bool]


def paginate(records: list[Any], skip: int | None, limit: int | None) -> list[Any]:
    """`limit` records after the first `skip`."""
    skip = skip or 0
    if skip < 0 or (limit is not None and limit < 0):
        raise BadRequest("limit and skip/offset must not be negative.")
    return records[skip:] if limit is None else records[skip:skip + limit]


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    first, _, rest = path.partition(".")
    value = record.get(first, record.get(to_snake(first), _MISSING))
    for part in rest.split(".") if rest else ():
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            return parse_time(value)
        except ValueError:
            return None
    return None


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Two values made comparable (times as datetimes), or None if they are not."""
    left_time, right_time = _as_time(left), _as_time(right)
    if left_time is not None and right_time is not None:
        if (left_time.tzinfo is None) != (right_time.tzinfo is None):
            left_time, right_time = left_time.replace(tzinfo=None), right_time.replace(tzinfo=None)
        return left_time, right_time
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and not isinstance(left, bool):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _operand(op: str, wanted: Any) -> Any:
    """The value an operator compares with, checked when the filter is built so that bad
    input is a 400 whatever the data (an empty store included)."""
    if op in ("in", "nin") and not isinstance(wanted, list):
        raise BadRequest(f"Invalid query: the {op} operator needs a list of values, not {wanted!r}.")
    if op in ("regex", "nregex"):
        try:
            return re.compile(str(wanted))
        except re.error as exc:
            raise BadRequest(f"Invalid query: invalid regular expression {wanted!r}: {exc}.") from None
    return wanted


def _comparison(op: str, field: str, wanted: Any) -> Predicate:
    operand = _operand(op, wanted)
    return lambda record: _compare(op, _lookup(record, field), operand)


def _compare(op: str, value: Any, wanted: Any) -> bool:
    if op == "eq":
        return value == wanted
    if op == "ne":
        return value != wanted
    if op in ("in", "nin"):
        found = value in wanted or (isinstance(value, list) and any(v in wanted for v in value))
        return found if op == "in" else not found
    if op in ("regex", "nregex"):
        found = isinstance(value, str) and wanted.search(value) is not None
        return found if op == "regex" else not found
    if value is _MISSING:
        return False
    pair = _ordered(value, wanted)
    if pair is None:
        return False
    left, right = pair
    return {"lt": left < right, "lte": left <= right, "gt": left > right, "gte": left >= right}[op]


_MONGO_OPERATORS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte",
                    "$in": "in", "$nin": "nin", "$regex": "regex"}


def mongo_filter(q: Any) -> Predicate:
    """A predicate for a MongoDB-style query (a dict or its JSON text)."""
    if isinstance(q, (str, bytes)):
        if not q:
            return lambda record: True
        try:
            q = json.loads(q)
        except (ValueError, RecursionError):
            raise BadRequest(f"Invalid query q: {q!r} is not JSON; pass a MongoDB-style "
                             "object such as {\"status\": \"READY\"}.") from None
    if not isinstance(q, dict):
        raise BadRequest("Invalid query q: it must be a JSON object such as {\"status\": \"READY\"}.")
    check_depth(q, "query q")
    tests: list[Predicate] = []
    for field, condition in q.items():
        if field in ("$and", "$or"):
            if not isinstance(condition, list) or not all(isinstance(c, dict) for c in condition):
                raise BadRequest(f"Invalid query q: {field} needs a list of objects.")
            tests.append(_combined([mongo_filter(c) for c in condition], every=field == "$and"))
        elif not isinstance(field, str):
            raise BadRequest(f"Invalid query q: field names must be strings, not {field!r}.")
        elif field.startswith("$"):
            raise BadRequest(f"Invalid query q: unknown operator {field}.")
        elif isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            for op, wanted in condition.items():
                if op == "$exists":
                    tests.append(_exists(field, bool(wanted)))
                    continue
                if op not in _MONGO_OPERATORS:
                    raise BadRequest(f"Invalid query q: unknown operator {op}; use one of "
                                     f"{', '.join(sorted(_MONGO_OPERATORS))}, $exists.")
                tests.append(_comparison(_MONGO_OPERATORS[op], field, wanted))
        else:
            tests.append(_comparison("eq", field, condition))
    return _combined(tests, every=True)


def _combined(tests: list[Predicate], every: bool) -> Predicate:
    """All of `tests` (or, without `every`, any of them)."""
    combine = all if every else any
    return lambda record: combine(test(record) for test in tests)


def _exists(field: str, wanted: bool) -> Predicate:
    return lambda record: (_lookup(record, field) is not _MISSING) == wanted


def _convert(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def filters(params: Mapping[str, Any]) -> bool:
    """Whether search parameters select anything (else every record matches)."""
    return any(key not in _NOT_FIELDS or key in ("search", "exactsearch") for key in params)


def search_filter(params: Mapping[str, str]) -> Predicate:
    """A predicate for Abaco's search parameters (`search`, `exactsearch`, `field.op=value`)."""
    tests: list[Predicate] = []
    for key, raw in params.items():
        if key in ("search", "exactsearch"):
            tests.append(_full_text(str(raw)) if key == "search" else _exact_text(str(raw)))
            continue
        if key in _NOT_FIELDS:
            continue
        field, _, op = key.rpartition(".")
        if op not in SEARCH_OPERATORS:
            field, op = key, "eq"
        tests.append(_search_test(field, op, raw))
    return _combined(tests, every=True)


def _search_test(field: str, op: str, raw: str) -> Predicate:
    if op in ("in", "nin"):
        try:
            wanted = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest(f"Invalid search: {field}.{op} needs a JSON list such as [\"a\", \"b\"].") from None
        return _comparison(op, field, wanted)
    if op == "between":
        bounds = raw.split(",")
        if len(bounds) != 2:
            raise BadRequest(f"Invalid search: {field}.between needs two values separated by a comma.")
        low, high = (_comparison(o, field, _convert(b.strip())) for o, b in zip(("gte", "lte"), bounds))
        return _combined([low, high], every=True)
    if op in ("like", "nlike"):
        return _comparison("regex" if op == "like" else "nregex", field, raw)
    return _comparison({"neq": "ne"}.get(op, op), field, _convert(raw))


def _full_text(needle: str) -> Predicate:
    lowered = needle.lower()
    return lambda record: lowered in json.dumps(record, default=str).lower()


def _exact_text(needle: str) -> Predicate:
    return lambda record: _contains_exact(record, needle)


def _contains_exact(record: Any, needle: str) -> bool:
    if isinstance(record, dict):
        return any(_contains_exact(v, needle) for v in record.values())
    if isinstance(record, list):
        return any(_contains_exact(v, needle) for v in record)
    return str(record) == needle
