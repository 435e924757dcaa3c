"""The README's "Tapis v3 and tapipy" examples run as written."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tapipy", reason="the examples use tapipy: pip install tapipy")

README = Path(__file__).resolve().parents[2] / "README.md"


def section_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Tapis v3 and tapipy", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_thirty_second_example_prints_the_greeting():
    example = section_examples()[0]
    done = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello Ada"


def test_the_fixture_example_passes(pytester):
    pytester.makepyfile(test_greeting=section_examples()[1])
    pytester.runpytest("-p", "no:cacheprovider", "--abaco-runner", "local").assert_outcomes(passed=1)


def test_the_client_switch_builds_an_emulator_client(monkeypatch):
    namespace: dict = {}
    exec(section_examples()[2], namespace)
    monkeypatch.setenv("ABACO_EMULATOR_URL", "http://127.0.0.1:5000")
    assert namespace["tapis"]().base_url == "http://127.0.0.1:5000"
