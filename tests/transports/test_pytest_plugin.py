"""The pytest plugin as a downstream project meets it: installed, no conftest, fixtures ready."""
from __future__ import annotations

import pytest

DOWNSTREAM_TESTS = '''
import requests


def echo(ctx):
    print("got", ctx.raw_message)
    return ctx.raw_message.upper().encode()


def test_abaco_runs_an_actor(abaco):
    abaco.register_image("echo:1", echo)
    actor = abaco.actors.add(body={"image": "echo:1"})
    sent = abaco.actors.sendMessage(actorId=actor.id, body={"message": "hi"})
    done = abaco.wait_for_execution(actor.id, sent.executionId, timeout=10)
    assert done.status == "COMPLETE"
    assert abaco.actors.getExecutionLogs(actorId=actor.id, executionId=done.id).logs == "got hi\\n"


def test_abaco_server_speaks_http(abaco_server):
    answer = requests.get(abaco_server.url + "/actors/v2", headers={"Authorization": "Bearer " + abaco_server.token})
    assert answer.status_code == 200 and answer.json()["result"] == []


def test_agave_is_a_real_agavepy_client(agave, abaco_server):
    from agavepy.agave import Agave

    abaco_server.emulator.register_image("echo:1", echo)
    assert isinstance(agave, Agave)
    actor = agave.actors.add(body={"image": "echo:1"})
    sent = agave.actors.sendMessage(actorId=actor.id, body={"message": "over http"})
    abaco_server.emulator.wait_for_execution(actor.id, sent.executionId, timeout=10)
    assert agave.actors.getOneExecutionResult(actorId=actor.id, executionId=sent.executionId).content == b"OVER HTTP"


def test_each_test_gets_a_fresh_emulator(abaco):
    assert abaco.actors.list() == []
'''


def test_a_project_without_conftest_uses_every_fixture(pytester):
    pytester.makepyfile(test_downstream=DOWNSTREAM_TESTS)
    result = pytester.runpytest_subprocess("--abaco-runner", "local", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_ini_keys_choose_the_runner_user_and_max_run_time(pytester):
    pytester.makeini("[pytest]\nabaco_runner = local\nabaco_user = alice\nabaco_max_run_time = 0.5\n")
    pytester.makepyfile(test_settings='''
import time

def test_settings(abaco):
    assert abaco.user == "alice" and abaco.runner.name == "local"
    abaco.register_image("slow:1", lambda ctx: time.sleep(5))
    actor = abaco.actors.add(body={"image": "slow:1"})
    assert actor.owner == "alice"
    sent = abaco.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    done = abaco.wait_for_execution(actor.id, sent.executionId, timeout=4)
    assert done.exitCode == 137
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_command_line_options_win_over_ini_keys(pytester):
    pytester.makeini("[pytest]\nabaco_runner = docker\nabaco_user = alice\n")
    pytester.makepyfile(test_user="def test_user(abaco):\n    assert abaco.user == 'bob'\n")
    result = pytester.runpytest_subprocess("--abaco-runner", "local", "--abaco-user", "bob", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_overriding_abaco_options_changes_the_emulator(pytester):
    pytester.makeconftest('''
import pytest

@pytest.fixture
def abaco_options():
    return {"runner": "local", "user": "carol", "roles": ["Internal/abaco-admin"]}
''')
    pytester.makepyfile(test_override='''
def test_admin(abaco):
    assert abaco.user == "carol" and "Internal/abaco-admin" in abaco.roles
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_abaco_db_keeps_each_tests_database_in_its_own_file(pytester):
    pytester.makepyfile(test_db='''
def test_first(abaco):
    abaco.actors.add(body={"image": "kept:1", "name": "first"})

def test_second(abaco):
    assert abaco.actors.list() == []
''')
    store = pytester.path / "dbs"
    result = pytester.runpytest_subprocess("--abaco-runner", "local", "--abaco-db", str(store), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    files = sorted(p.name for p in store.glob("*.json"))
    assert files == ["test_db.py_test_first.json", "test_db.py_test_second.json"]
    assert '"first"' in (store / "test_db.py_test_first.json").read_text()


def test_docker_marker_skips_with_the_reason_where_no_engine_answers(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker-here.sock")
    pytester.makepyfile(test_marked='''
import pytest

@pytest.mark.docker
def test_needs_docker(abaco):
    raise AssertionError("must not run")

def test_runs_anyway():
    pass
''')
    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no Docker engine answers*no-docker-here.sock*"])


def test_the_docker_runner_without_an_engine_fails_saying_how_to_start_one(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker-here.sock")
    pytester.makepyfile(test_unmarked="def test_docker(abaco):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*DockerUnavailable*dockerd*--abaco-runner local*"])


def test_an_error_in_a_worker_thread_fails_the_test_that_caused_it(pytester):
    pytester.makepyfile(test_worker_error='''
def test_breaks_a_worker(abaco):
    abaco.engine.report(RuntimeError("boom in a worker"))

def test_next_one_is_clean(abaco):
    pass
''')
    result = pytester.runpytest_subprocess("--abaco-runner", "local", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_breaks_a_worker*", "*boom in a worker*"])


@pytest.mark.docker
def test_abaco_with_the_docker_runner_runs_a_real_container(pytester):
    pytester.makepyfile(test_container='''
def test_container(abaco):
    actor = abaco.actors.add(body={"image": "abaco-emulator/busybox:test",
                                   "defaultEnvironment": {"SCRIPT": "echo from a container"}})
    sent = abaco.actors.sendMessage(actorId=actor.id, body={"message": "m"})
    done = abaco.wait_for_execution(actor.id, sent.executionId, timeout=60)
    assert abaco.actors.getExecutionLogs(actorId=actor.id, executionId=done.id).logs == "from a container\\n"
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
