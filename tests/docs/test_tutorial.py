"""docs/tutorial.md is run, command by command, so it never goes stale.

The tutorial's conventions (stated at its end, for writers):

* ```` ```console ```` blocks hold commands (`$ ` lines; a line ending in `\\` continues
  on the next) each followed by its expected output (stdout and stderr together).
  In expected output a line that is just `...` matches any number of lines (also
  none), and `...` inside a line matches any text within that line. Trailing blank
  lines, trailing spaces and the alignment of table columns are ignored. Every command must exit with status 0 (a
  failure is shown with `; echo "exit status $?"`).
* ```` ```console docker ```` blocks need a Docker engine; ```` ```console no-run ````
  blocks are shown only (installation).
* A block whose info string has `file=NAME` (```` ```sh file=actor.sh ````) is written
  to NAME before the commands after it run.

Everything runs in order in one bash process in a temporary directory. The port
5123 of the tutorial is replaced by a free one; the bash process group (with the
background server the tutorial starts and stops) is ended at the end whatever happens.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
TUTORIAL_PORT = "5123"
TUTORIAL_IMAGES = ("hello-actor:1", "hello-actor:2")
_FENCE = re.compile(r"^```(\S*)(.*)$")
_PORT = re.compile(r"(?<=[: ])" + TUTORIAL_PORT + r"\b")


@dataclass
class Step:
    """A file to write, or a command with the output it should print."""

    kind: str  # "file" or "command"
    text: str
    expected: list[str] = field(default_factory=list)
    docker: bool = False
    name: str = ""
    line: int = 0


def parse_tutorial(markdown: str) -> list[Step]:
    """The steps of the tutorial, in order (no-run blocks and prose are skipped)."""
    steps: list[Step] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match or not match.group(1):
            index += 1
            continue
        language, words = match.group(1), match.group(2).split()
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = lines[start:end]
        files = [w.split("=", 1)[1] for w in words if w.startswith("file=")]
        if files:
            steps.append(Step("file", "\n".join(body) + "\n", name=files[0], line=start, docker="docker" in words))
        elif language == "console" and "no-run" not in words:
            steps.extend(_commands(body, start, docker="docker" in words))
        index = end + 1
    return steps


def _commands(body: list[str], first_line: int, docker: bool) -> list[Step]:
    steps: list[Step] = []
    continuing = False
    for number, line in enumerate(body, start=first_line + 1):
        if continuing:
            steps[-1].text += "\n" + line
            continuing = line.endswith("\\")
        elif line.startswith("$ "):
            steps.append(Step("command", line[2:], docker=docker, line=number))
            continuing = line.endswith("\\")
        elif steps:
            steps[-1].expected.append(line)
        elif line.strip():
            raise AssertionError(f"tutorial line {number}: output before any command: {line!r}")
    return steps


def _line_pattern(line: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(part) for part in line.split("...")) + "$")


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """`actual` lines match `expected` with its `...` wildcards (a `...` line: any lines)."""
    expected = _trimmed(expected)
    actual = _trimmed(actual)
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i] == "...":
            result = match(i + 1, j) or (j < len(actual) and match(i, j + 1))
        else:
            result = j < len(actual) and bool(_line_pattern(expected[i]).match(actual[j])) and match(i + 1, j + 1)
        memo[(i, j)] = result
        return result

    return match(0, 0)


def _trimmed(lines: list[str]) -> list[str]:
    """Without trailing blanks, and without the column alignment of tables (runs of spaces,
    of ruler dashes): ids are 12 or 13 characters, so a table's widths vary by run."""
    lines = [re.sub(r"-{3,}", "---", re.sub(r" {2,}", "  ", line.rstrip())) for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _marker(token: str, number: int) -> str:
    return f"@@tutorial-step-{token}-{number}@@"


def run_steps(steps: list[Step], workdir: Path, timeout: float) -> list[tuple[Step, list[str], int]]:
    """Run the steps in one bash process; each command's output lines and exit status."""
    port = free_port()
    token = os.urandom(4).hex()
    script = ["exec 2>&1", "cd " + _quote(str(workdir))]
    commands = []
    for step in steps:
        if step.kind == "file":
            (workdir / step.name).write_text(step.text)
            continue
        number = len(commands)
        commands.append(step)
        script.append(_PORT.sub(port, step.text))
        script.append(f"printf '\\n{_marker(token, number)} %s\\n' \"$?\"")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "ABACO_")) and key != "COV_CORE_SOURCE"}
    env.update(PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""), COLUMNS="80",
               PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(["bash", "-c", "\n".join(script)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               cwd=str(workdir), env=env, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(process)
        output, _ = process.communicate()
        raise AssertionError("the tutorial did not finish within "
                             f"{timeout:g} s; output so far:\n{output.decode(errors='replace')}") from None
    finally:
        _end_group(process)
    text = output.decode("utf-8", errors="replace")
    results, rest = [], text
    for number, step in enumerate(commands):
        marker = _marker(token, number)
        before, found, rest = rest.partition("\n" + marker + " ")
        if not found:
            raise AssertionError(f"tutorial line {step.line}: `{step.text}` never finished; output:\n{before}")
        status_text, _, rest = rest.partition("\n")
        expected = [_PORT.sub(port, line) for line in step.expected]
        step.expected = expected
        results.append((step, before.split("\n") if before else [], int(status_text)))
    return results


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _end_group(process: subprocess.Popen) -> None:
    """End the tutorial's bash and everything it started (the server): TERM, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            process.poll()  # reap bash, so that a finished group is gone
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def check(results: list[tuple[Step, list[str], int]]) -> None:
    """Every command exited 0 and printed what the tutorial shows (all mismatches reported)."""
    problems = []
    for step, actual, status in results:
        shown = "\n".join(actual)
        if status != 0:
            problems.append(f"tutorial line {step.line}: `{step.text}` exited with {status}:\n{shown}")
        elif not output_matches(step.expected, actual):
            problems.append(f"tutorial line {step.line}: `{step.text}` printed\n{shown}\n"
                            "--- but the tutorial shows ---\n" + "\n".join(step.expected))
    assert not problems, "\n\n".join(problems)


def _remove_tutorial_images() -> None:
    import docker

    client = docker.from_env()
    try:
        for image in TUTORIAL_IMAGES:
            try:
                client.images.remove(image, force=True)
            except docker.errors.ImageNotFound:
                pass
    finally:
        client.close()


# -- the tests -------------------------------------------------------------------------

def test_the_tutorial_has_runnable_steps_of_both_kinds():
    steps = parse_tutorial(TUTORIAL.read_text())
    commands = [s for s in steps if s.kind == "command"]
    assert len(commands) >= 20
    assert any(s.docker for s in commands) and any(not s.docker for s in commands)
    assert {s.name for s in steps if s.kind == "file"} >= {"actor.sh", "Dockerfile", "test_hello.py"}
    assert "pip install" not in "\n".join(s.text for s in commands)  # installation is shown, not run


def test_the_output_matcher_understands_the_wildcards():
    assert output_matches(["id  ...", "...", "done"], ["id  Abc123", "x", "y", "done", ""])
    assert output_matches(["...", "done"], ["done"])
    assert not output_matches(["id  ..."], ["name  x"])
    assert not output_matches(["a"], ["a", "b"])
    assert not output_matches(["a.c"], ["abc"])  # only `...` is a wildcard


def test_the_tutorial_without_docker(tmp_path):
    """The steps that need no Docker engine: the actor script, pytest with the local runner, --db."""
    steps = [s for s in parse_tutorial(TUTORIAL.read_text()) if not s.docker]
    check(run_steps(steps, tmp_path, timeout=240))


@pytest.mark.docker
def test_the_whole_tutorial_with_docker(tmp_path):
    steps = parse_tutorial(TUTORIAL.read_text())
    try:
        check(run_steps(steps, tmp_path, timeout=480))
    finally:
        _remove_tutorial_images()
