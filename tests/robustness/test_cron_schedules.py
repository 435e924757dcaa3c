"""What no cron schedule may do: hang the clock, or make it answer 500.

A schedule the emulator accepts must be one it can step: its increment moves it forward
and stays within the dates Python can count. Each schedule is either refused at
registration with a 400 (the emulator already answers 400 where Abaco answers 500, for
a bad unit), or, once registered, advancing the clock three hours answers 200 in a few
seconds and runs its first hour at least, and at most once an hour.

Each case runs in a child process with a timeout: a schedule that hangs the scheduler
would otherwise keep a thread spinning for the rest of the test session.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import json, os, sys, requests
    from abaco_emulator import serve
    server = serve(runner="local")
    server.emulator.register_image("quiet:1", lambda ctx: None)
    added = requests.post(server.url + "/actors/v2", json={"image": "quiet:1", "cronSchedule": sys.argv[1]},
                          timeout=10)
    report = {"add": added.status_code, "add_body": added.json()}
    print(json.dumps(report), flush=True)
    if added.status_code == 200:
        actor = added.json()["result"]["id"]
        try:  # three hours with one hourly actor take milliseconds
            moved = requests.post(server.url + "/emulator/v1/clock", json={"seconds": 3 * 3600}, timeout=3)
        except requests.Timeout:
            report.update(clock="no answer within 3 s")
            print(json.dumps(report), flush=True)
            os._exit(0)
        server.emulator.drain(10)
        listed = requests.get(f"{server.url}/actors/v2/{actor}/executions", timeout=10).json()["result"]
        report.update(clock=moved.status_code, clock_body=moved.text[:300], runs=len(listed["executions"]))
        print(json.dumps(report), flush=True)
    os._exit(0)  # do not wait for a scheduler thread that may be stuck
""")


@pytest.mark.parametrize("schedule", [
    "now + 2 hours",  # what every schedule should do: 2 runs in 3 hours
    "now + 0 hours",
    "now + -1 hours",
    "now + -2 weeks",
    "now + 99999999999 days",
    "now + 99999999999 hours",
    "now + 1000000 months",
])
def test_a_schedule_is_refused_with_400_or_runs_without_hanging_the_clock(schedule):
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, schedule], capture_output=True, text=True, timeout=20)
        lines = done.stdout.splitlines()
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        lines = out.splitlines()
        pytest.fail(f"{schedule!r}: registered, then advancing the clock hung ({lines[-1] if lines else 'no output'})")
    assert lines, done.stderr[-2000:]
    report = json.loads(lines[-1])
    if report["add"] != 200:
        assert report["add"] == 400, report
        assert report["add_body"]["status"] == "error" and report["add_body"]["message"]
        return
    assert "clock" in report, f"{schedule!r}: the clock request never answered: {done.stderr[-2000:]}"
    assert report["clock"] == 200, f"{schedule!r}: advancing: {report['clock']} {report.get('clock_body', '')}"
    assert 1 <= report["runs"] <= 4, f"{schedule!r}: registered but ran {report['runs']} time(s) in 3 hours"
