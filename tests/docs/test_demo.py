"""`abaco-emulator demo`, the README's main job: with Docker, and without an engine."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "abaco_emulator", "demo", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def assert_demo_output(out: str, runner: str) -> None:
    assert re.search(rf"Registered actor \w{{12,13}} \(demo-greeter\) with image abaco-emulator/demo:1 on the "
                     rf"{runner} runner\.", out), out
    assert "Sent 3 messages." in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("string ", "JSON ", "binary "))]
    assert [(row[0], row[2], row[3]) for row in rows] == [
        ("string", "COMPLETE", "0"), ("JSON", "COMPLETE", "0"), ("binary", "COMPLETE", "0")], out
    assert "words: 3" in out  # the string message's logs
    assert "binary message of 1024 bytes" in out
    assert "hi from the message" in out  # the JSON message's environment overrides the default
    assert "3 executions, total runtime" in out


def test_demo_with_the_local_runner_shows_executions_logs_and_results():
    done = run_demo("--runner", "local")
    assert done.returncode == 0, done.stderr
    assert_demo_output(done.stdout, "local")
    results = [line.split()[-1] for line in done.stdout.splitlines() if line.startswith(("string ", "JSON ", "binary "))]
    assert results == ["words=3", "words=4", "words=0"], done.stdout
    assert "No results" not in done.stdout
    assert "Traceback" not in done.stderr


def test_demo_without_a_docker_engine_says_so_and_runs_locally(tmp_path):
    done = run_demo(env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert done.returncode == 0, done.stderr
    assert "No Docker engine" in done.stdout and "local runner" in done.stdout
    assert_demo_output(done.stdout, "local")


def test_demo_asked_for_docker_without_an_engine_fails_in_one_line(tmp_path):
    done = run_demo("--runner", "docker", env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert done.returncode == 1
    assert done.stderr.startswith("abaco-emulator demo:") and "dockerd" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.docker
def test_demo_with_docker_runs_real_containers_and_leaves_none(docker_client):
    done = run_demo("--runner", "docker")
    assert done.returncode == 0, done.stderr
    assert_demo_output(done.stdout, "docker")
    assert "every container it started is removed" in done.stdout
    assert "No results: this busybox actor only writes logs" in done.stdout
    assert docker_client.images.get("abaco-emulator/demo:1")
    assert not docker_client.containers.list(all=True, filters={"ancestor": "abaco-emulator/demo:1"},
                                             ignore_removed=True)
