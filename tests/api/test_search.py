"""getSearch over actors, workers, executions and logs with MongoDB-style `q`.

The answer has Abaco's shape: `_metadata` and each record in camelCase (nulls kept), with
`_links`, stripped as Abaco's Search.post_processing strips them; a log record is its text
and links only. A search shows what the caller holds an explicit permission on (no admin
bypass), in its tenant.
"""
from __future__ import annotations

import json

import pytest

from abaco_checks import abaco_error
from api_transports import api_path



@pytest.fixture
def exits(ag):
    """An actor whose executions exit with the code given as message, and their ids by code."""
    def handler(ctx):
        print(f"exiting with {ctx.raw_message}")
        raise SystemExit(int(ctx.raw_message))
    ag.register_image("exit:1", handler)
    actor = ag.actors.add(body={"image": "exit:1", "name": "exiter"})
    ids = {}
    for code in range(5):
        sent = ag.actors.sendMessage(actorId=actor.id, body={"message": str(code)})
        ids[code] = sent.executionId
    ag.drain(5)
    return actor, ids


def found(ag, search_type, q=None, **kwargs):
    """getSearch as any client can send it: `q` as JSON text, left out when there is none
    (agavepy sends a dict's keys as `q` and refuses `q=None`; the facade takes both)."""
    if q is not None:
        kwargs["q"] = q if isinstance(q, str) else json.dumps(q)
    return ag.actors.getSearch(search_type=search_type, **kwargs)


def ids_of(result):
    """The ids of the records found (a log record names its execution in its links only)."""
    return sorted(r["id"] if "id" in r else r["_links"]["execution"].rsplit("/", 1)[1] for r in result["search"])


def test_search_answers_metadata_and_records(ag, exits):
    actor, ids = exits
    result = found(ag, "executions")
    assert set(result) == {"_metadata", "search"}
    assert result._metadata == {"totalCount": 5, "recordsSkipped": 0, "recordLimit": 100, "countReturned": 5}
    assert ids_of(result) == sorted(ids.values())
    record = result.search[0]
    assert record["actorId"] == actor.id  # camelCase, as dict_to_camel gives it
    assert "finalState" in record and "apiServer" not in record and "tenant" not in record
    assert record["_links"]["self"].endswith(f"{api_path(ag)}/{actor.id}/executions/{record['id']}")


@pytest.mark.parametrize("q, codes", [
    ({"final_state.ExitCode": {"$eq": 2}}, [2]),
    ({"final_state.ExitCode": {"$ne": 2}}, [0, 1, 3, 4]),
    ({"final_state.ExitCode": {"$gt": 2}}, [3, 4]),
    ({"final_state.ExitCode": {"$gte": 2}}, [2, 3, 4]),
    ({"final_state.ExitCode": {"$lt": 2}}, [0, 1]),
    ({"final_state.ExitCode": {"$lte": 2}}, [0, 1, 2]),
    ({"final_state.ExitCode": {"$in": [0, 4]}}, [0, 4]),
    ({"final_state.ExitCode": {"$nin": [0, 4]}}, [1, 2, 3]),
    ({"finalState.ExitCode": {"$gt": 3}}, [4]),
    ({"final_state.ExitCode": 1}, [1]),
    ({"exitCode": {"$gte": 1, "$lt": 3}}, [1, 2]),
    ({"exit_code": 3, "status": "COMPLETE"}, [3]),
    ('{"final_state.ExitCode": {"$lte": 0}}', [0]),
])
def test_search_executions_with_mongo_operators(ag, exits, q, codes):
    _, ids = exits
    result = found(ag, "executions", q)
    assert ids_of(result) == sorted(ids[c] for c in codes)
    assert result._metadata["totalCount"] == len(codes)


def test_search_with_regex(ag, exits):
    _, ids = exits
    logs = found(ag, "logs", {"logs": {"$regex": "exiting with [34]"}})
    assert ids_of(logs) == sorted([ids[3], ids[4]])
    actors = found(ag, "actors", {"name": {"$regex": "^exi"}})
    assert [a["name"] for a in actors.search] == ["exiter"]


def test_search_actors_by_fields(ag, exits):
    actor, _ = exits
    ag.register_image("other:1", lambda ctx: None)
    other = ag.actors.add(body={"image": "other:1", "name": "other", "stateless": False})
    assert [a["id"] for a in found(ag, "actors", {"stateless": False}).search] == [other.id]
    assert [a["id"] for a in found(ag, "actors", {"image": "exit:1"}).search] == [actor.id]
    assert sorted(a["id"] for a in found(ag, "actors").search) == sorted([actor.id, other.id])


def test_search_workers(ag, exits):
    actor, _ = exits
    workers = found(ag, "workers", {"actor_id": actor.id})
    assert workers._metadata["totalCount"] == 1
    assert workers.search[0]["id"] == ag.actors.listWorkers(actorId=actor.id)[0].id


def test_search_pages_with_limit_and_skip(ag, exits):
    result = found(ag, "executions", limit=2, skip=1)
    assert result._metadata == {"totalCount": 5, "recordsSkipped": 1, "recordLimit": 2, "countReturned": 2}
    assert len(result.search) == 2
    everything = [r["id"] for r in found(ag, "executions").search]
    assert [r["id"] for r in result.search] == everything[1:3]
    tail = found(ag, "executions", skip=4)
    assert tail._metadata["countReturned"] == 1


def test_search_shows_only_records_the_caller_holds_a_permission_on(ag, admin, exits):
    actor, _ = exits
    stranger = ag.as_user("stranger")
    for kind in ("actors", "workers", "executions", "logs"):
        assert found(stranger, kind)._metadata["totalCount"] == 0, kind
        # no admin bypass in search, as on Abaco: an admin finds only what it holds a permission on
        assert found(admin, kind)._metadata["totalCount"] == 0, kind
        assert found(ag, kind)._metadata["totalCount"] > 0, kind
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "stranger", "level": "READ"})
    assert found(stranger, "executions")._metadata["totalCount"] == 5
    ag.actors.updatePermissions(actorId=actor.id, body={"user": "ABACO_WORLD", "level": "READ"})
    assert found(ag.as_user("anyone"), "executions")._metadata["totalCount"] == 0  # a world grant is no entry for a user


def test_search_strips_actor_records_as_abaco_does(ag, exits):
    record = found(ag, "actors").search[0]
    for hidden in ("tenant", "dbId", "apiServer", "executions", "db_id", "api_server"):
        assert hidden not in record
    # dict_to_camel keeps nulls: the fields Abaco stores unset are there, as null
    assert {"gid", "uid", "tasdir"} <= set(record) and record["gid"] is None
    assert record["token"] == "false" and "_links" in record


def test_search_of_unknown_type_is_400(ag):
    with abaco_error(400, "nonsense"):
        ag.actors.getSearch(search_type="nonsense")


@pytest.mark.parametrize("q, fragment", [
    ("{not json", "q"),
    ({"field": {"$unknown": 1}}, "$unknown"),
    ({"final_state.ExitCode": {"$in": 3}}, "list"),
])
def test_search_with_bad_query_is_400(ag, exits, q, fragment):
    with abaco_error(400, fragment):
        found(ag, "executions", q)


def test_search_with_bad_regex_is_400(ag, exits):
    with abaco_error(400, "regular expression"):
        found(ag, "logs", {"logs": {"$regex": "("}})


@pytest.mark.transports("in-process", reason="agavepy 0.9.5's actors.list takes no q")
def test_bad_regex_is_400_even_when_no_record_has_the_field(ag):
    # bad input is rejected whatever the data: an empty emulator answers 400 too
    with abaco_error(400, "regular expression"):
        found(ag, "executions", {"logs": {"$regex": "("}})
    with abaco_error(400, "regular expression"):
        ag.actors.list(q={"name": {"$regex": "["}})


def test_search_compares_time_fields_as_times(ag, exits):
    _, ids = exits
    first = ag.actors.getExecution(actorId=exits[0].id, executionId=ids[0])
    everything = found(ag, "executions", {"message_received_time": {"$gte": "2000-01-01T00:00:00Z"}})
    assert everything._metadata["totalCount"] == 5
    nothing = found(ag, "executions", {"messageReceivedTime": {"$lt": first.messageReceivedTime}})
    assert nothing._metadata["totalCount"] == 0
