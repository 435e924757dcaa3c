"""Secret actor configs at rest: the database file never holds them in clear; the key is the store's.

A store with a file keeps its Fernet key beside it (`<db>.config-key`, mode 0600), so a
reopened store still opens what it sealed; a key given to the emulator (`config_key=`,
`serve --config-key`) is used instead and written nowhere.
"""
from __future__ import annotations

import ast
import logging
import os
import stat

import pytest
from cryptography.fernet import Fernet

from abaco_emulator import AbacoEmulator
from abaco_emulator.errors import ConfigKeyInvalid

SECRET = "hunter2-but-longer-and-unmistakable"


def emulator(path, **kwargs):
    return AbacoEmulator(runner="local", db_path=str(path), **kwargs)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "abaco.json"


def every_file_of_the_store(db) -> bytes:
    """Everything the store wrote: its snapshot, its journal and whatever else sits beside it,
    but the key file."""
    out = b""
    for path in db.parent.iterdir():
        if path.is_file() and not path.name.endswith(".config-key"):
            out += path.read_bytes()
    return out


def secret_actor(ag, seen):
    ag.register_image("reader:1", lambda ctx: seen.append(ctx["_actor_configs"]))
    actor = ag.actors.add(body={"image": "reader:1"})
    ag.configs.add(body={"name": "password", "value": SECRET, "isSecret": True, "actors": actor.id})
    return actor


def seen_by(ag, actor_id, seen) -> dict:
    sent = ag.actors.sendMessage(actorId=actor_id, body={"message": "m"})
    ag.wait_for_execution(actor_id, sent.executionId, timeout=10)
    return ast.literal_eval(seen[-1])


def test_the_database_file_never_holds_a_secret_in_clear(db):
    seen: list = []
    with emulator(db) as ag:
        actor = secret_actor(ag, seen)
        assert SECRET not in every_file_of_the_store(db).decode()  # the journal, while open
        ag.configs.update(configName="password", body={"name": "password", "value": SECRET, "isSecret": True,
                                                       "actors": actor.id})
        assert seen_by(ag, actor.id, seen) == {"password": SECRET}
    stored = every_file_of_the_store(db)
    assert b"password" in stored  # the config is there, sealed
    assert SECRET.encode() not in stored


def test_the_key_is_kept_beside_the_store_readable_by_its_owner_only(db):
    with emulator(db) as ag:
        secret_actor(ag, [])
    key_file = db.parent / (db.name + ".config-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a Fernet key


def test_a_reopened_store_opens_what_it_sealed(db):
    seen: list = []
    with emulator(db) as first:
        actor = secret_actor(first, seen)
        token = first.configs.get(configName="password").value
    with emulator(db) as second:
        second.register_image("reader:1", lambda ctx: seen.append(ctx["_actor_configs"]))
        assert second.configs.get(configName="password").value == token
        assert seen_by(second, actor.id, seen) == {"password": SECRET}


def test_a_given_key_is_used_and_written_nowhere(db):
    key = Fernet.generate_key().decode()
    seen: list = []
    with emulator(db, config_key=key) as ag:
        actor = secret_actor(ag, seen)
        token = ag.configs.get(configName="password").value
        assert seen_by(ag, actor.id, seen) == {"password": SECRET}
    assert Fernet(key).decrypt(token.encode()).decode() == SECRET
    assert not (db.parent / (db.name + ".config-key")).exists()
    assert key.encode() not in every_file_of_the_store(db)


def test_a_secret_sealed_with_another_key_is_left_out_and_logged_without_its_value(db, caplog):
    seen: list = []
    with emulator(db, config_key=Fernet.generate_key()) as first:
        actor = secret_actor(first, seen)
        first.configs.add(body={"name": "plain", "value": "visible", "isSecret": False, "actors": actor.id})
    caplog.set_level(logging.WARNING)
    with emulator(db, config_key=Fernet.generate_key()) as second:
        second.register_image("reader:1", lambda ctx: seen.append(ctx["_actor_configs"]))
        assert seen_by(second, actor.id, seen) == {"plain": "visible"}
    assert "password" in caplog.text and "another key" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("key", ["", "not a key", "c2hvcnQ=", b"\x00" * 44])
def test_a_config_key_that_is_no_fernet_key_is_refused(tmp_path, key):
    with pytest.raises(ConfigKeyInvalid, match="Fernet key"):
        AbacoEmulator(runner="local", db_path=str(tmp_path / "db.json"), config_key=key)
    # the store was released: it opens again
    AbacoEmulator(runner="local", db_path=str(tmp_path / "db.json")).close()


def test_a_damaged_key_file_is_refused_naming_it(db):
    (db.parent / (db.name + ".config-key")).write_text("garbage\n")
    with pytest.raises(ConfigKeyInvalid, match="config-key"):
        emulator(db)


def test_in_memory_emulators_each_seal_with_a_fresh_key():
    tokens = []
    for _ in range(2):
        with AbacoEmulator(runner="local") as ag:
            secret_actor(ag, [])
            tokens.append(ag.configs.get(configName="password").value)
            assert ag.service.configs.sealer.open(tokens[-1]) == SECRET
    with AbacoEmulator(runner="local") as third:
        assert third.service.configs.sealer.open(tokens[0]) is None
