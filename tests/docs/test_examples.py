"""Every example in examples/ runs, as its README says, so none goes stale.

examples/downstream_project is run as its own project (its own pyproject.toml, no
conftest, abaco-emulator's plugin only), in a subprocess in its own directory; its actor
images are built on the local abaco-emulator/python:test image, since nothing can be
pulled here; the images it builds (textstats/*:dev) are removed afterwards, unless they
were there before.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "downstream_project"
PROJECT_IMAGES = ("textstats/wordcount:dev", "textstats/counter:dev")  # images.IMAGES


@pytest.fixture(scope="module")
def built_images(images, docker_client):
    """The test images; on leaving, remove the project's images that this module built."""
    import docker.errors

    def present(tag: str) -> bool:
        try:
            docker_client.images.get(tag)
            return True
        except docker.errors.ImageNotFound:
            return False

    existing = {tag for tag in PROJECT_IMAGES if present(tag)}
    yield images
    for tag in set(PROJECT_IMAGES) - existing:
        try:
            docker_client.images.remove(tag)
        except docker.errors.ImageNotFound:
            pass


def run_in_project(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python ARGS` in the example project's directory, writing nothing into it."""
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **env)
    return subprocess.run([sys.executable, *args], cwd=PROJECT, env=environment, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.docker
def test_downstream_projects_own_tests_pass_with_only_the_plugin(built_images):
    _, python_image = built_images
    done = run_in_project("-m", "pytest", "-p", "no:cacheprovider", "-rs", ACTOR_BASE_IMAGE=python_image)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 passed" in done.stdout and "skipped" not in done.stdout, done.stdout


@pytest.mark.docker
def test_two_ways_gives_identical_results_in_process_and_over_http(built_images):
    _, python_image = built_images
    done = run_in_project("two_ways.py", "--base", python_image)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["in process", "agavepy over HTTP", "identical results"]
    assert '"state": {"count": 2, "last": "To be, or not to be."}' in lines[0]
    assert '"best": 1, "it": 2' in lines[1]


def test_without_docker_the_projects_offline_tests_pass_and_the_rest_skip_with_the_reason(tmp_path):
    done = run_in_project("-m", "pytest", "-p", "no:cacheprovider", "-rs",
                          DOCKER_HOST=f"unix://{tmp_path}/no-docker-here.sock")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 6 skipped" in done.stdout, done.stdout
    assert "no Docker engine answers" in done.stdout, done.stdout
