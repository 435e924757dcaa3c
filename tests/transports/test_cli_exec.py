"""`abaco-emulator exec [serve options] -- COMMAND ...` as a real subprocess: COMMAND runs
against a served emulator named by ABACO_URL/ABACO_TOKEN, everything stops with it, and
its exit status is exec's."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import requests

from abaco_checks import signal_a_thread_but_the_main_one

REPO = Path(__file__).resolve().parents[2]


def exec_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("ABACO_URL", None)
    env.pop("ABACO_TOKEN", None)
    return env


def exec_(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "abaco_emulator", "exec", *args], capture_output=True, text=True,
                          env=exec_env(), cwd=str(REPO), timeout=timeout)


def test_exec_runs_the_command_against_a_served_emulator_and_exits_with_its_status(tmp_path):
    script = tmp_path / "client.py"
    script.write_text(textwrap.dedent("""
        import os, sys, requests
        url, token = os.environ["ABACO_URL"], os.environ["ABACO_TOKEN"]
        headers = {"Authorization": "Bearer " + token}
        actor = requests.post(url + "/actors/v2", json={"image": "hello:1"}, headers=headers).json()["result"]
        sent = requests.post(url + "/actors/v2/" + actor["id"] + "/messages", data={"message": "hi"},
                             headers=headers, params={"_abaco_synchronous": "true"})
        print("answer:", sent.text.strip())
        v3 = requests.get(os.environ["TAPIS_BASE_URL"] + "/v3/actors/" + actor["id"],
                          headers={"X-Tapis-Token": os.environ["TAPIS_TOKEN"]})
        print("v3:", v3.status_code, v3.json()["result"]["id"] == actor["id"])
        print("url:", url)
        sys.exit(7)
    """))
    done = exec_("--runner", "local", "--local-command", f"hello:1={sys.executable} -c 'import os; "
                 "print(\"hello\", os.environ[\"MSG\"])'", "--", sys.executable, str(script))

    assert done.returncode == 7, done.stderr
    assert "answer: hello hi" in done.stdout
    assert "v3: 200 True" in done.stdout  # the same actor through tapipy's routes and token
    url = done.stdout.split("url: ", 1)[1].split()[0]
    assert url.startswith("http://127.0.0.1:")
    try:  # everything stopped with the command
        requests.get(url + "/actors/v2", timeout=2)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError(f"{url} still answers after exec ended")
    assert "Traceback" not in done.stderr


def test_exec_with_tokens_hands_the_command_a_token_the_server_accepts():
    done = exec_("--runner", "local", "--token", "t1=alice", "--", sys.executable, "-m", "abaco_emulator",
                 "actors", "ls")
    assert done.returncode == 0, done.stderr
    assert "No actors." in done.stdout


def test_exec_reports_a_command_that_cannot_start_and_a_missing_one():
    missing = exec_("--runner", "local", "--", "no-such-command-abaco")
    assert missing.returncode == 127 and "cannot run 'no-such-command-abaco'" in missing.stderr

    nothing = exec_("--runner", "local")
    assert nothing.returncode == 2 and "no command given" in nothing.stderr

    bad_port = exec_("--port", "70000", "--", "true")
    assert bad_port.returncode == 2 and "invalid port 70000" in bad_port.stderr


def test_exec_gives_a_signal_as_128_plus_its_number():
    done = exec_("--runner", "local", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 15)")
    assert done.returncode == 128 + 15


def test_exec_passes_on_a_sigterm_that_lands_on_another_of_its_threads():
    """A blocking wait for COMMAND would never run the handler that passes SIGTERM on."""
    sleeper = "import time; print('started', flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-m", "abaco_emulator", "exec", "--runner", "local", "--",
                                sys.executable, "-c", sleeper], stdout=subprocess.PIPE, text=True, env=exec_env(),
                               cwd=str(REPO))
    try:
        assert process.stdout.readline().strip() == "started"
        signal_a_thread_but_the_main_one(process.pid, signal.SIGTERM)
        assert process.wait(15) == 128 + signal.SIGTERM
    finally:
        process.kill()
        process.communicate()
