"""Nobody is shown a change that a crash could still take back."""
from __future__ import annotations

import os
import threading

from abaco_emulator import store as store_module
from abaco_emulator.store import Store


def test_a_read_waits_until_the_change_it_would_show_is_on_disk(tmp_path, monkeypatch):
    store = Store(str(tmp_path / "abaco.json"))
    syncing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        syncing.set()
        release.wait(5)
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", slow_fsync)
    writer = threading.Thread(target=store.insert, args=("actors", {"id": "a1", "owner": "me"}))
    writer.start()
    assert syncing.wait(5)  # the change is in memory; its fsync has not finished
    seen: list = []
    reader = threading.Thread(target=lambda: seen.append(store.get("actors", "a1")))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive() and seen == []
    release.set()
    writer.join(5)
    reader.join(5)
    assert seen == [{"id": "a1", "owner": "me"}]
    monkeypatch.undo()
    store.close()


def test_reads_inside_a_transaction_do_not_wait_for_the_disk(tmp_path):
    store = Store(str(tmp_path / "abaco.json"))
    with store.transaction():
        store.insert("actors", {"id": "a1", "owner": "me"})
        assert store.get("actors", "a1") == {"id": "a1", "owner": "me"}
    store.close()
