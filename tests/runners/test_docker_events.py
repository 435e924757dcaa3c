"""Events and cron executions inside real containers: what agavepy's `get_context()` (in
abaco-emulator/python:test) makes of the message an event or a schedule sends.
Marked `docker`: skipped where no engine answers.
"""
from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from abaco_emulator import AbacoEmulator

pytestmark = pytest.mark.docker

SHOW_CONTEXT = textwrap.dedent("""
    ctx = get_context()
    event = ctx['message_dict']
    print('type', event.get('event_type'), 'of', event.get('actor_id'), 'execution', event.get('execution_id'))
    print('content', ctx['_abaco_Content_Type'], 'raw', ctx['raw_message'][:40])
    print('user', ctx['username'])
    print('parse log', repr(ctx['raw_message_parse_log']))
""")


@pytest.fixture
def ag(images):
    with AbacoEmulator(runner="docker", max_run_time=60) as emulator:
        yield emulator
        emulator.raise_background_errors()


def logs_of(ag, actor_id: str) -> list[str]:
    listed = ag.actors.listExecutions(actorId=actor_id).executions
    return [ag.actors.getExecutionLogs(actorId=actor_id, executionId=e["id"]).logs for e in listed]


def test_a_linked_container_reads_the_event_with_agavepys_get_context(ag, images):
    busybox, python = images
    target = ag.actors.add(body={"image": python, "defaultEnvironment": {"PY_SCRIPT": SHOW_CONTEXT}})
    source = ag.actors.add(body={"image": busybox, "link": target.id, "defaultEnvironment": {"SCRIPT": "echo hi"}})
    sent = ag.actors.sendMessage(actorId=source.id, body={"message": "m"})
    ag.wait_for_execution(source.id, sent.executionId, timeout=60)
    ag.drain(120)
    ready, complete = logs_of(ag, target.id)
    assert f"type ACTOR_READY of {source.id} execution None" in ready
    assert f"type EXECUTION_COMPLETE of {source.id} execution {sent.executionId}" in complete
    for logs in (ready, complete):
        assert "content application/json raw {'tenant_id': 'DEV-DEVELOP'" in logs
        assert "user Abaco Event" in logs
        assert "parse log ''" in logs  # the Python repr parsed as agavepy parses it


def test_a_cron_execution_in_a_container_gets_abacos_message(ag, images):
    _, python = images
    start = ag.clock.now() + timedelta(hours=1)
    actor = ag.actors.add(body={"image": python, "defaultEnvironment": {"PY_SCRIPT": SHOW_CONTEXT},
                                "cronSchedule": f"{start.year}-{start.month}-{start.day} {start.hour} + 1 hour"})
    ag.advance_time(3600)
    ag.drain(120)
    (logs,) = logs_of(ag, actor.id)
    assert "content str raw This is your cron execution" in logs
    assert "type None" in logs  # a plain string: no event
