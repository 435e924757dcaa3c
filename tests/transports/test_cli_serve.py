"""`abaco-emulator serve` as a real subprocess: starts, answers, stops cleanly on SIGTERM/SIGINT."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from abaco_emulator import AbacoEmulator
from abaco_emulator.cli import build_parser, main

from abaco_checks import jwt, signal_a_thread_but_the_main_one

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(r"^ready: (http://127\.0\.0\.1:\d+)")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "abaco_emulator", "serve", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO))
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = READY.match(line)
        if match:
            return process, match.group(1), lines
    process.kill()
    raise AssertionError(f"no ready line: {lines} {process.stderr.read()}")


def stop(process, sig):
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_starts_answers_and_exits_cleanly(tmp_path, sig):
    db = tmp_path / "abaco.json"
    port = free_port()
    process, url, lines = start("--port", str(port), "--runner", "local", "--db", str(db), "--user", "alice")
    try:
        assert url == f"http://127.0.0.1:{port}"
        assert any(f"{url}/actors/v2" in line for line in lines)
        answer = requests.get(url + "/actors/v2", timeout=10)
        assert answer.status_code == 200 and answer.json()["result"] == []
        created = requests.post(url + "/actors", json={"image": "never-registered:1"}, timeout=10)
        assert created.status_code == 200 and created.json()["result"]["owner"] == "alice"
        assert requests.get(url + "/nothing", timeout=10).status_code == 405
    finally:
        code, out, err = stop(process, sig)
    assert code == 0, err
    assert "stopped" in out
    assert "Traceback" not in err
    with AbacoEmulator(db_path=str(db), runner="local", user="alice") as reopened:
        assert reopened.actors.get(actorId=created.json()["result"]["id"]).owner == "alice"
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/actors/v2", timeout=2)


def test_serve_stops_on_a_sigterm_that_lands_on_another_of_its_threads():
    process, url, _ = start("--port", "0", "--runner", "local")
    try:
        assert requests.get(url + "/actors/v2", timeout=10).status_code == 200
        signal_a_thread_but_the_main_one(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0 and "stopped" in out, err


def test_serve_with_tokens_requires_them_and_never_prints_them():
    process, url, lines = start("--port", "0", "--runner", "local", "--token", "sekrit-one=alice",
                                "--token", "sekrit-two=root:admin")
    try:
        assert requests.get(url + "/actors/v2", timeout=10).status_code == 401
        alice = requests.post(url + "/actors/v2", json={"image": "x:1"},
                              headers={"Authorization": "Bearer sekrit-one"}, timeout=10)
        assert alice.json()["result"]["owner"] == "alice"
        root = requests.get(url + f"/actors/v2/{alice.json()['result']['id']}",
                            headers={"Authorization": "Bearer sekrit-two"}, timeout=10)
        assert root.status_code == 200
        requests.get(url + "/actors/v2", headers={"Authorization": "Bearer wrong-sekrit"}, timeout=10)
    finally:
        code, out, err = stop(process, signal.SIGTERM)
    assert code == 0, err
    assert "sekrit" not in "".join(lines) + out + err


def test_serve_refuses_a_remote_host_without_allow_remote(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--runner", "local", "--port", "0"]) == 1
    assert "allow" in capsys.readouterr().err


def test_serve_rejects_a_malformed_token(capsys):
    assert main(["serve", "--token", "no-equals-sign", "--runner", "local", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "TOKEN=USER" in err and "no-equals-sign" not in err


def test_parser_has_serve_and_room_for_more(capsys):
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "0", "--token", "t=u:admin"])
    assert args.command == "serve" and args.port == 0 and args.token == ["t=u:admin"]
    assert args.host == "127.0.0.1" and args.runner == "docker"
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


def test_serve_tenant_and_allow_privileged_flags_reach_the_emulator():
    process, url, _ = start("--port", "0", "--runner", "local", "--tenant", "TACC", "--allow-privileged",
                            "--role", "privileged")
    try:
        created = requests.post(url + "/actors/v2", data={"image": "x:1", "privileged": "True"}, timeout=10)
        actor = created.json()["result"]
        assert created.status_code == 200 and actor["privileged"] is True
        deadline = time.monotonic() + 10
        while (shown := requests.get(f"{url}/actors/v2/{actor['id']}", timeout=10).json()["result"])["status"] \
                == "SUBMITTED" and time.monotonic() < deadline:
            time.sleep(0.05)
        # x:1 has no handler, so it ends in ERROR, but not for being privileged
        assert "privileged" not in shown["statusMessage"].lower()
        # the default user lives in TACC: a JWT of the same user in another tenant sees nothing
        assert requests.get(f"{url}/actors/v2/{actor['id']}", timeout=10).status_code == 200
        other = requests.get(f"{url}/actors/v2/{actor['id']}", timeout=10,
                             headers={"X-Jwt-Assertion-SD2E": jwt("testuser")})
        assert other.status_code in (400, 404) and "does not exist" in other.json()["message"]
    finally:
        code, _, err = stop(process, signal.SIGTERM)
    assert code == 0, err


def test_serve_config_key_seals_secret_configs_with_the_given_key(tmp_path):
    from cryptography.fernet import Fernet
    key = Fernet.generate_key().decode()
    db = tmp_path / "abaco.json"
    process, url, _ = start("--port", "0", "--runner", "local", "--db", str(db), "--config-key", key)
    try:
        actor = requests.post(url + "/actors/v2", data={"image": "x:1"}, timeout=10).json()["result"]
        created = requests.post(url + "/actors/v2/configs", timeout=10,
                                data={"name": "pw", "value": "cli-secret", "isSecret": "true", "actors": actor["id"]})
        token = created.json()["result"]["value"]
    finally:
        code, out, err = stop(process, signal.SIGTERM)
    assert code == 0, err
    assert Fernet(key.encode()).decrypt(token.encode()) == b"cli-secret"
    assert not (tmp_path / "abaco.json.config-key").exists() and key not in out + err


def test_serve_refuses_a_config_key_that_is_no_fernet_key(capsys):
    assert main(["serve", "--runner", "local", "--port", "0", "--config-key", "too-short"]) == 1
    err = capsys.readouterr().err
    assert "Fernet key" in err and "too-short" not in err


def test_serve_user_role_tapis_tenant_and_v3_case_flags_reach_both_apis():
    from abaco_emulator import tapis_token

    process, url, lines = start("--port", "0", "--runner", "local", "--user-role", "boss=abaco_admin",
                                "--user-role", "boss=privileged", "--tapis-tenant", "tacc", "--v3-case", "camel")
    try:
        assert any("/v3/actors (tenant tacc)" in line for line in lines)
        created = requests.post(url + "/actors/v2", json={"image": "x:1"}, timeout=10).json()["result"]
        # boss is an admin in v3 (a token of tenant tacc is the v2 default tenant) and in v2
        boss = {"X-Tapis-Token": tapis_token("boss", "tacc")}
        seen = requests.get(f"{url}/v3/actors/{created['id']}", headers=boss, timeout=10)
        assert seen.status_code == 200 and seen.json()["result"]["defaultEnvironment"] == {}
        admin = requests.get(url + "/actors/v2/admin", headers={"X-Jwt-Assertion-DEV-DEVELOP": jwt("boss")},
                             timeout=10)
        assert admin.status_code == 200, admin.text
        privileged = requests.post(url + "/v3/actors", json={"image": "x:1", "privileged": True}, headers=boss,
                                   timeout=10)
        assert privileged.status_code == 200, privileged.text
    finally:
        code, _, err = stop(process, signal.SIGTERM)
    assert code == 0, err


def test_serve_rejects_a_malformed_user_role(capsys):
    assert main(["serve", "--user-role", "nobody", "--runner", "local", "--port", "0"]) == 2
    assert "USER=ROLE" in capsys.readouterr().err


def test_serve_local_command_runs_actors_of_that_image(tmp_path):
    command = f"{sys.executable} -c 'import os; print(\"hi\", os.environ[\"MSG\"])'"
    process, url, lines = start("--port", "0", "--runner", "local", "--local-command", f"hello:1={command}")
    assert f"  dashboard: {url}/\n" in lines
    try:
        actor = requests.post(url + "/actors/v2", json={"image": "hello:1"}, timeout=10).json()["result"]
        answer = requests.post(f"{url}/actors/v2/{actor['id']}/messages", data={"message": "there"},
                               params={"_abaco_synchronous": "true"}, timeout=30)
        assert answer.status_code == 200 and answer.text == "hi there\n"
    finally:
        code, out, err = stop(process, signal.SIGTERM)
    assert code == 0, err


@pytest.mark.parametrize("flags, message", [
    (["--local-command", "hello:1=echo"], "--local-command needs --runner local"),
    (["--runner", "local", "--local-command", "no-equals"], "expected IMAGE=COMMAND"),
    (["--runner", "local", "--local-command", "img='unclosed"], "invalid --local-command"),
])
def test_serve_refuses_a_bad_local_command(capsys, flags, message):
    assert main(["serve", "--port", "0", *flags]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
def test_serve_refuses_a_port_out_of_range(capsys, port):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--runner", "local", "--port", port])
    assert exit_.value.code == 2
    assert "expected a number from 1 to 65535, or 0 for a free one" in capsys.readouterr().err
