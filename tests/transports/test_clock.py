"""The test clock from outside Python: the emulator-only route `GET/POST /emulator/v1/clock`
(body `{"seconds": N}`) and the command `abaco-emulator clock [--advance SECONDS]` against
a server (`--url`) or a database file (`--db`). What advancing makes happen is checked in
tests/api/test_cron.py and tests/api/test_log_expiry.py, through every transport.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

import abaco_emulator
from abaco_emulator import AbacoEmulator, cli
from abaco_emulator.cli import target

TOKEN = {"Authorization": "Bearer clock-token"}


@pytest.fixture(autouse=True)
def no_target_from_environment(monkeypatch):
    monkeypatch.delenv(target.ENV_URL, raising=False)
    monkeypatch.delenv(target.ENV_TOKEN, raising=False)


@pytest.fixture
def server():
    with abaco_emulator.serve(runner="local", tokens={"clock-token": "alice"}) as running:
        running.emulator.register_image("quiet:1", lambda ctx: None)
        yield running
        running.emulator.raise_background_errors()


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def clock(server, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(method, f"{server.url}/emulator/v1/clock", timeout=30, **kwargs)


# -- the route -------------------------------------------------------------------------------

def test_get_clock_shows_now_the_real_time_and_the_offset(server):
    answer = clock(server, headers=TOKEN)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "success" and body["message"] == "Clock retrieved successfully."
    shown = body["result"]
    assert set(shown) == {"now", "offset_seconds", "real_now"}
    assert shown["offset_seconds"] == 0
    assert abs(parse(shown["now"]) - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_post_clock_moves_it_forward_and_get_shows_it_moved(server):
    moved = clock(server, "POST", json={"seconds": 7200}, headers=TOKEN)
    assert moved.status_code == 200 and moved.json()["message"] == "Clock advanced successfully."
    result = moved.json()["result"]
    assert 7199 <= result["offset_seconds"] < 7205
    assert timedelta(seconds=7199) <= parse(result["now"]) - parse(result["real_now"]) < timedelta(seconds=7205)
    again = clock(server, headers=TOKEN).json()["result"]
    assert again["offset_seconds"] == result["offset_seconds"]
    # What the API shows follows it.
    actor = requests.post(f"{server.url}/actors/v2", json={"image": "quiet:1"}, headers=TOKEN).json()["result"]
    assert parse(actor["createTime"]) - datetime.now(timezone.utc) > timedelta(seconds=7190)


def test_the_clock_route_needs_a_token_as_every_route_does(server):
    assert clock(server).status_code == 401
    assert clock(server, "POST", json={"seconds": 60}).status_code == 401
    assert clock(server, headers=TOKEN).json()["result"]["offset_seconds"] == 0


@pytest.mark.parametrize("body, content_type", [
    ('{"seconds": NaN}', "application/json"),
    ('{"seconds": Infinity}', "application/json"),
    ('{"seconds": -Infinity}', "application/json"),
    ('{"seconds": -60}', "application/json"),
    ('{"seconds": 1e400}', "application/json"),
    ('{"seconds": "60"}', "application/json"),
    ('{"seconds": null}', "application/json"),
    ('{"seconds": [60]}', "application/json"),
    ('{"seconds": 60', "application/json"),
    ("{}", "application/json"),
    ("[60]", "application/json"),
    ("60", "application/json"),
    ("seconds=abc", "application/x-www-form-urlencoded"),
    ("seconds=-5", "application/x-www-form-urlencoded"),
    ("", "application/json"),
    ("\xff\xfe", "text/plain"),
])
def test_post_clock_answers_400_to_what_is_not_seconds_forward(server, body, content_type):
    answer = clock(server, "POST", data=body.encode("latin-1"), headers={**TOKEN, "Content-Type": content_type})
    assert answer.status_code == 400, answer.text
    envelope = answer.json()
    assert envelope["status"] == "error" and envelope["result"] is None and envelope["message"]
    assert clock(server, headers=TOKEN).json()["result"]["offset_seconds"] == 0  # not moved


def test_a_form_body_moves_the_clock_too(server):
    answer = clock(server, "POST", data={"seconds": "90"}, headers=TOKEN)
    assert answer.status_code == 200
    assert 89 <= answer.json()["result"]["offset_seconds"] < 95


# -- the command ---------------------------------------------------------------------------------

def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_clock_command_shows_and_advances_a_servers_clock(capsys, server):
    status, out, _ = run(capsys, "clock", "--url", server.url, "--token", "clock-token")
    assert status == 0 and "moved 0 s forward" in out
    status, out, _ = run(capsys, "clock", "--advance", "3600", "--url", server.url, "--token", "clock-token", "--json")
    assert status == 0
    shown = json.loads(out)
    assert 3599 <= shown["offset_seconds"] < 3605
    assert 3599 <= server.emulator.clock.offset_seconds < 3605


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "1e30"])
def test_clock_command_refuses_bad_seconds_in_one_line(capsys, server, value):
    status, out, err = run(capsys, "clock", "--advance", value, "--url", server.url, "--token", "clock-token")
    assert status == 1
    assert err.startswith("abaco-emulator clock: ") and "seconds" in err and len(err.strip().splitlines()) == 1
    assert server.emulator.clock.offset_seconds == 0


def test_clock_command_refuses_a_value_that_is_no_number(capsys, server):
    with pytest.raises(SystemExit) as info:  # argparse's usage error
        cli.main(["clock", "--advance", "an hour", "--url", server.url])
    assert info.value.code == 2 and "--advance" in capsys.readouterr().err


def test_clock_command_on_a_database_file_runs_the_due_cron_hour_and_keeps_the_clock(capsys, tmp_path):
    db = str(tmp_path / "abaco.json")
    with AbacoEmulator(db_path=db, runner="local") as emulator:
        start = emulator.clock.now() + timedelta(hours=1)
        actor = emulator.actors.add(body={"image": "test/sh:1", "cronSchedule":
                                          f"{start.year}-{start.month}-{start.day} {start.hour} + 1 hour"})

    status, out, _ = run(capsys, "clock", "--advance", "3600", "--db", db, "--runner", "local",
                         "--local-command", "test/sh:1=sh -c 'echo $MSG'")
    assert status == 0 and "moved 3600 s forward" in out

    with AbacoEmulator(db_path=db, runner="local") as reopened:
        assert reopened.clock.offset_seconds >= 3599  # not back to real time
        reopened.register_image("test/sh:1", command=["sh", "-c", "echo $MSG"])
        reopened.drain(20)
        (listed,) = reopened.actors.listExecutions(actorId=actor.id).executions
        execution = reopened.actors.getExecution(actorId=actor.id, executionId=listed["id"])
        assert execution.executor == "cron" and execution.status == "COMPLETE"
        assert reopened.actors.getExecutionLogs(actorId=actor.id, executionId=execution.id).logs == \
            "This is your cron execution\n"
        after = start + timedelta(hours=1)
        shown = reopened.actors.get(actorId=actor.id).cronNextEx
        assert shown == f"{after.year}-{after.month}-{after.day} {after.hour}"
