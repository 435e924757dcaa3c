"""`abaco-emulator login --url URL` / `logout`: the agavepy credential cache, read back by a
real `Agave.restore()`, and never an existing cache overwritten silently."""
from __future__ import annotations

import json
import stat

import pytest

import abaco_emulator
from abaco_emulator import cli
from abaco_emulator.cli import login, target

OTHER = {"tenantid": "tacc.prod", "baseurl": "https://api.tacc.utexas.edu", "access_token": "real-token",
         "username": "someone", "apikey": "k", "apisecret": "s", "refresh_token": "r"}


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "agave"
    monkeypatch.setenv("AGAVE_CACHE_DIR", str(directory))
    monkeypatch.delenv(target.ENV_TOKEN, raising=False)
    return directory


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_login_writes_a_cache_agavepy_restores_and_logout_removes_it(capsys, cache_dir):
    from agavepy.agave import Agave

    with abaco_emulator.serve(runner="local", tokens={"alice-token": "alice"}) as server:
        server.emulator.register_image("quiet:1", lambda ctx: None)
        status, out, err = run(capsys, "login", "--url", server.url, "--token", "alice-token", "--user", "alice")
        assert status == 0, err
        current = cache_dir / "current"
        assert str(current) in out
        written = json.loads(current.read_text())
        # the fields the bash abaco-cli reads with jq
        assert written["baseurl"] == server.url and written["access_token"] == "alice-token"
        assert written["username"] == "alice" and written["tenantid"] == "DEV-DEVELOP"
        assert stat.S_IMODE(current.stat().st_mode) == 0o600

        abaco_emulator.patch_agavepy()
        ag = Agave.restore()
        assert ag.api_server == server.url
        actor = ag.actors.add(body={"image": "quiet:1"})
        assert actor["owner"] == "alice"
        assert [a["id"] for a in ag.actors.list()] == [actor["id"]]

        status, out, _ = run(capsys, "logout")
        assert status == 0 and not current.exists() and "removed" in out
        assert run(capsys, "logout")[1].startswith("not logged in")


def test_an_existing_cache_is_refused_then_backed_up_with_force_and_restored_by_logout(capsys, cache_dir):
    cache_dir.mkdir()
    current = cache_dir / "current"
    current.write_text(json.dumps(OTHER))
    with abaco_emulator.serve(runner="local") as server:
        status, _, err = run(capsys, "login", "--url", server.url)
        assert status == 1 and "--force" in err and json.loads(current.read_text()) == OTHER

        status, _, err = run(capsys, "login", "--url", server.url, "--force")
        assert status == 0, err
        backup = cache_dir / ("current" + login.BACKUP_SUFFIX)
        assert json.loads(backup.read_text()) == OTHER
        assert json.loads(current.read_text())["baseurl"] == server.url
        # logging in again replaces only what login wrote; the backup stays the original
        assert run(capsys, "login", "--url", server.url, "--user", "bob")[0] == 0
        assert json.loads(current.read_text())["username"] == "bob"
        assert json.loads(backup.read_text()) == OTHER

    status, out, _ = run(capsys, "logout")
    assert status == 0 and "restored" in out
    assert json.loads(current.read_text()) == OTHER and not backup.exists()
    status, _, err = run(capsys, "logout")  # the original is not ours to remove
    assert status == 1 and "left unchanged" in err and json.loads(current.read_text()) == OTHER


def test_force_never_overwrites_an_earlier_backup(capsys, cache_dir):
    cache_dir.mkdir()
    (cache_dir / "current").write_text(json.dumps(OTHER))
    backup = cache_dir / ("current" + login.BACKUP_SUFFIX)
    backup.write_text('{"older": true}')
    with abaco_emulator.serve(runner="local") as server:
        status, _, err = run(capsys, "login", "--url", server.url, "--force")
    assert status == 1 and "exists already" in err
    assert json.loads((cache_dir / "current").read_text()) == OTHER and backup.read_text() == '{"older": true}'


def test_login_checks_the_server_and_its_token(capsys, cache_dir):
    with abaco_emulator.serve(runner="local", tokens={"alice-token": "alice"}) as server:
        status, _, err = run(capsys, "login", "--url", server.url, "--token", "wrong")
        assert status == 1 and "refuses that token" in err
        url = server.url
    status, _, err = run(capsys, "login", "--url", url)
    assert status == 1 and "does not answer" in err
    assert run(capsys, "login", "--url", "127.0.0.1:5000")[0] == 2
    assert not (cache_dir / "current").exists()
