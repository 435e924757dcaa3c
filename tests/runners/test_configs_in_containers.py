"""Actor configs inside a container: `_actor_configs` as Abaco's worker hands it to docker-py.

The docker runner gets the same environment as the local runner; here a real container
reads it: the shell sees the Python repr of the configs dict, and Python code parses it
back with ast.literal_eval, secrets opened. Marked `docker`; skipped where no engine answers.
"""
from __future__ import annotations

import textwrap

import pytest

from abaco_emulator import AbacoEmulator

pytestmark = pytest.mark.docker

BUSYBOX = "abaco-emulator/busybox:test"
PYTHON = "abaco-emulator/python:test"
SECRET = "container-secret-7f3a"


@pytest.fixture
def ag(images):
    with AbacoEmulator(runner="docker", max_run_time=60) as emulator:
        yield emulator
        emulator.raise_background_errors()


def logs_of_one_run(ag, actor_id) -> str:
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": "m"})
    execution = ag.wait_for_execution(actor_id, sent.executionId, timeout=60)
    assert execution.status == "COMPLETE" and execution.exitCode == 0, execution
    return ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution.id).logs


def test_a_shell_in_the_container_sees_the_python_repr_of_the_configs(ag):
    actor = ag.actors.add(body={"image": BUSYBOX, "defaultEnvironment": {"SCRIPT": 'echo "$_actor_configs"'}})
    ag.actors.addAlias(body={"alias": "shell-reader", "actorId": actor.id})
    ag.configs.add(body={"name": "plain", "value": "it's plain", "isSecret": False, "actors": actor.id})
    ag.configs.add(body={"name": "secret", "value": SECRET, "isSecret": True, "actors": "shell-reader"})
    assert logs_of_one_run(ag, actor.id).strip() == str({"plain": "it's plain", "secret": SECRET})


def test_python_code_in_the_container_parses_the_configs_back(ag):
    code = textwrap.dedent("""
        import ast, os
        configs = ast.literal_eval(os.environ["_actor_configs"])
        print(sorted(configs), configs["password"] == %r)
    """ % SECRET)
    actor = ag.actors.add(body={"image": PYTHON, "defaultEnvironment": {"PY_SCRIPT": code}})
    ag.configs.add(body={"name": "password", "value": SECRET, "isSecret": True, "actors": actor.id})
    ag.configs.add(body={"name": "host", "value": "db.example", "isSecret": False, "actors": actor.id})
    assert logs_of_one_run(ag, actor.id).strip() == "['host', 'password'] True"
