"""The installable release: `python -m build` makes a wheel and an sdist holding every
module, the dashboard's files, the container-side support file, `py.typed`, and no tests
or caches; the wheel installed into a fresh virtualenv runs the command, the demo and a
downstream project's pytest with the plugin.

The build runs offline (`--no-isolation`: the setuptools and wheel already installed,
as the [test] extra brings them) from a copy of the files git tracks, so nothing of the
checkout (caches, egg-info, earlier builds) can leak into the artefacts.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import abaco_emulator

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "abaco_emulator"

needs_build = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("build", "wheel", "setuptools")),
    reason="needs the build, wheel and setuptools packages (the [test] extra brings them)")


def _tracked_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"needs a git checkout to know which files are the source ({exc})")
    return [name for name in listed.stdout.decode().split("\0") if name]


def _source_files() -> list[str]:
    """What the package is: every tracked file under abaco_emulator/."""
    return sorted(name for name in _tracked_files() if name.startswith("abaco_emulator/"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    source = tmp_path_factory.mktemp("source")
    for name in _tracked_files():
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def _one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def _no_tests_or_caches(names: list[str]) -> None:
    unwanted = [n for n in names if re.search(r"(^|/)(tests?|__pycache__|\.pytest_cache|\.mypy_cache)(/|$)", n)
                or n.endswith((".pyc", ".pyo"))]
    assert unwanted == []


@needs_build
def test_the_wheel_holds_every_module_the_assets_and_nothing_else(dist):
    wheel = _one(dist, f"abaco_emulator-{abaco_emulator.__version__}-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert [n for n in _source_files() if n not in names] == []
    for required in ("abaco_emulator/py.typed", "abaco_emulator/agave.py",  # agave.py: copied into containers
                     "abaco_emulator/dashboard_assets/index.html", "abaco_emulator/dashboard_assets/dashboard.js",
                     "abaco_emulator/dashboard_assets/dashboard.css"):
        assert required in names
    _no_tests_or_caches(names)
    package_files = [n for n in names if not n.startswith(f"abaco_emulator-{abaco_emulator.__version__}.dist-info/")]
    assert sorted(package_files) == _source_files()  # nothing the checkout does not track

    metadata = zipfile.ZipFile(wheel).read(f"abaco_emulator-{abaco_emulator.__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {abaco_emulator.__version__}\n" in metadata
    for extra in ("agavepy", "pytest", "test"):  # named for what they bring
        assert f"\nProvides-Extra: {extra}\n" in metadata
    entry_points = zipfile.ZipFile(wheel).read(
        f"abaco_emulator-{abaco_emulator.__version__}.dist-info/entry_points.txt").decode()
    assert "abaco-emulator = abaco_emulator.cli:main" in entry_points
    assert "abaco_emulator = abaco_emulator.pytest_plugin" in entry_points


@needs_build
def test_the_sdist_holds_the_package_and_no_tests_or_caches(dist):
    sdist = _one(dist, f"abaco-emulator-{abaco_emulator.__version__}.tar.gz")
    root = f"abaco-emulator-{abaco_emulator.__version__}/"
    names = [n[len(root):] for n in tarfile.open(sdist).getnames() if n.startswith(root)]

    assert [n for n in _source_files() if n not in names] == []
    assert {"pyproject.toml", "README.md"} <= set(names)
    _no_tests_or_caches(names)


@needs_build
def test_the_wheel_installed_in_a_fresh_virtualenv_runs_the_command(dist, tmp_path):
    venv = tmp_path / "venv"
    # The dependencies come from this interpreter's site-packages (no network); the
    # package itself only from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    wheel = _one(dist, "*.whl")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                               capture_output=True, text=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stderr

    where = subprocess.run([str(python), "-c", "import abaco_emulator; print(abaco_emulator.__file__)"],
                           capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    version = subprocess.run([str(venv / "bin" / "abaco-emulator"), "--version"], capture_output=True, text=True,
                             env=env, cwd=str(tmp_path), timeout=60)
    assert version.stdout == f"abaco-emulator {abaco_emulator.__version__}\n", version.stderr
    demo = subprocess.run([str(venv / "bin" / "abaco-emulator"), "demo", "--runner", "local"], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "3 executions, total runtime" in demo.stdout

    # a downstream project's pytest finds the plugin's fixtures in the installed wheel, no conftest
    project = tmp_path / "downstream"
    project.mkdir()
    (project / "test_downstream.py").write_text(
        "import abaco_emulator\n\n"
        "def test_greeting(abaco):\n"
        f"    assert abaco_emulator.__file__.startswith({str(venv)!r})\n"
        "    abaco.register_image('me/greeter:1', lambda ctx: print('hello', ctx.raw_message))\n"
        "    actor = abaco.actors.add(body={'image': 'me/greeter:1'})\n"
        "    sent = abaco.actors.sendMessage(actorId=actor.id, body={'message': 'Ada'})\n"
        "    abaco.wait_for_execution(actor.id, sent.executionId, timeout=10)\n"
        "    logs = abaco.actors.getExecutionLogs(actorId=actor.id, executionId=sent.executionId).logs\n"
        "    assert logs == 'hello Ada\\n'\n")
    downstream = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--abaco-runner",
                                 "local"], capture_output=True, text=True, env=env, cwd=str(project), timeout=300)
    assert downstream.returncode == 0, downstream.stdout + downstream.stderr
    assert "1 passed" in downstream.stdout
