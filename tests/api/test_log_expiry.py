"""Logs expire (ABACO_REFERENCE.md section 13): `logEx` seconds after they were written,
capped at the emulator's `log_ex_limit`; without a `logEx`, after `log_ex` (Abaco's
defaults: 43200 and 86400); a negative `log_ex` keeps them. Once gone, GET logs answers
200 with `""`, the execution stays and a log search no longer finds them.
`ag.advance_time` moves the emulator's clock past the expiry.
"""
from __future__ import annotations

import json

import pytest
import requests

DAY = 24 * 3600


@pytest.fixture
def talker(ag):
    ag.register_image("talk:1", lambda ctx: print(f"said {ctx.raw_message}"))
    return "talk:1"


def run(ag, actor_id: str, message: str = "hello") -> str:
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": message})
    ag.wait_for_execution(actor_id, sent.executionId, timeout=10)
    return sent.executionId


def logs(ag, actor_id: str, execution_id: str) -> str:
    return ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs


def test_logs_expire_after_the_default_of_twelve_hours(ag, talker):
    actor = ag.actors.add(body={"image": talker})
    executed = run(ag, actor.id)
    ag.advance_time(43200 - 60)
    assert logs(ag, actor.id, executed) == "said hello\n"
    ag.advance_time(61)
    assert logs(ag, actor.id, executed) == ""


def test_an_actors_log_ex_sets_how_long_its_logs_live(ag, talker):
    short = ag.actors.add(body={"image": talker, "logEx": 100})
    default = ag.actors.add(body={"image": talker})
    assert short.logEx == 100
    short_run, default_run = run(ag, short.id), run(ag, default.id)
    ag.advance_time(98)
    assert logs(ag, short.id, short_run) == "said hello\n"
    ag.advance_time(3)
    assert logs(ag, short.id, short_run) == ""
    assert logs(ag, default.id, default_run) == "said hello\n"


def test_each_executions_logs_expire_counted_from_when_they_were_written(ag, talker):
    actor = ag.actors.add(body={"image": talker, "logEx": 600})
    first = run(ag, actor.id, "first")
    ag.advance_time(400)
    second = run(ag, actor.id, "second")
    ag.advance_time(201)
    assert logs(ag, actor.id, first) == ""
    assert logs(ag, actor.id, second) == "said second\n"
    ag.advance_time(400)
    assert logs(ag, actor.id, second) == ""


@pytest.mark.emulator(log_ex_limit=300)
def test_a_log_ex_above_the_limit_is_capped_at_it(ag, talker):
    actor = ag.actors.add(body={"image": talker, "logEx": 100000})
    assert actor.logEx == 100000  # stored as given, capped when logs are written
    executed = run(ag, actor.id)
    ag.advance_time(298)
    assert logs(ag, actor.id, executed) == "said hello\n"
    ag.advance_time(3)
    assert logs(ag, actor.id, executed) == ""


@pytest.mark.emulator(log_ex=120)
def test_the_emulators_log_ex_is_the_default_for_actors_without_one(ag, talker):
    actor = ag.actors.add(body={"image": talker})
    executed = run(ag, actor.id)
    ag.advance_time(118)
    assert logs(ag, actor.id, executed) == "said hello\n"
    ag.advance_time(3)
    assert logs(ag, actor.id, executed) == ""


@pytest.mark.emulator(log_ex=-1)
def test_a_negative_log_ex_keeps_logs_for_ever(ag, talker):
    actor = ag.actors.add(body={"image": talker})
    executed = run(ag, actor.id)
    ag.advance_time(400 * DAY)
    assert logs(ag, actor.id, executed) == "said hello\n"


def test_after_expiry_the_execution_stays_and_a_log_search_finds_nothing(ag, talker):
    actor = ag.actors.add(body={"image": talker, "logEx": 60})
    executed = run(ag, actor.id, "findme")
    search = {"logs": {"$regex": "said findme"}}
    assert len(ag.actors.getSearch(search_type="logs", q=json.dumps(search)).search) == 1
    before = ag.actors.getExecution(actorId=actor.id, executionId=executed)
    ag.advance_time(61)
    assert ag.actors.getSearch(search_type="logs", q=json.dumps(search)).search == []
    after = ag.actors.getExecution(actorId=actor.id, executionId=executed)
    assert after == before
    assert [e["id"] for e in ag.actors.listExecutions(actorId=actor.id).executions] == [executed]
    assert ag.actors.getSearch(search_type="executions").search[0]["id"] == executed


@pytest.mark.transports("agavepy", reason="the envelope's message is what only HTTP shows")
def test_get_logs_after_expiry_answers_200_with_empty_logs(ag, talker):
    actor = ag.actors.add(body={"image": talker, "logEx": 60})
    executed = run(ag, actor.id)
    ag.advance_time(61)
    answer = requests.get(f"{ag.url}/actors/v2/{actor.id}/executions/{executed}/logs",
                          headers={"Authorization": f"Bearer {ag.token}"}, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "success" and body["message"] == "Logs retrieved successfully."
    assert body["result"]["logs"] == ""
    assert body["result"]["_links"]["execution"].endswith(f"/actors/v2/{actor.id}/executions/{executed}")


def test_logs_of_an_execution_run_after_the_advance_expire_on_the_advanced_clock(ag, talker):
    ag.advance_time(5 * DAY)
    actor = ag.actors.add(body={"image": talker, "logEx": 60})
    executed = run(ag, actor.id)
    ag.advance_time(30)
    assert logs(ag, actor.id, executed) == "said hello\n"
    ag.advance_time(31)
    assert logs(ag, actor.id, executed) == ""
