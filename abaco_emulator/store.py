"""The emulator's records, kept in TinyDB behind a small thread-safe repository.

Nothing else in the package imports tinydb. Two things make TinyDB fit a service that
accumulates executions:

* TinyDB's `Table` rebuilds the whole table on every write (O(table size) per insert,
  quadratic over a test session). `_IncrementalTable` hands the update functions a view
  of the stored table instead, so a write costs what it changes, and the view records
  which documents changed.
* TinyDB's JSON storage rewrites the whole file on every write. `_JournalStorage` keeps
  the file in TinyDB's own JSON format as a snapshot and appends each change to a
  journal beside it (`FILE.journal`, one JSON line a change). A transaction is durable
  (fsync'ed) before it returns; concurrent transactions share one fsync (group
  commit). The snapshot is replaced atomically (write, fsync, rename) when the journal
  grows, so a crash at any moment leaves a snapshot plus a journal whose complete lines
  are replayed on the next start.
"""
from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import IO, Any, Callable, Generic, TypeVar, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .errors import StoreCorrupt, StoreError, StoreLocked
from .models import (ActorRecord, AliasRecord, ConfigRecord, EventRecord, ExecutionRecord, LogRecord, MessageRecord,
                     NonceRecord, PermissionRecord, ResultRecord, WorkerRecord)

# Every record's key is its `id`; each kind is indexed by one field (the actor it belongs
# to; a nonce by the actor or alias it is for; an actor by its next cron hour, so the
# scheduler's check costs the same however many actors have no schedule).
_INDEXED_BY = {
    "actors": "cron_next_ex",
    "executions": "actor_id",
    "workers": "actor_id",
    "nonces": "resource",
    "permissions": "actor_id",
    "messages": "actor_id",
    "aliases": "actor_id",
    "logs": "actor_id",
    "results": "actor_id",
    "configs": "tenant",
}
# Numeric fields whose per-actor sums are kept up to date (execution totals in O(1)).
_SUMMED = {"executions": ("cpu", "io", "runtime")}
KINDS = ("actors", "executions", "workers", "nonces", "aliases", "permissions", "messages", "logs", "results",
         "stats", "events", "configs")
_COMPACT_MIN_BYTES = 8 * 1024 * 1024


class _ChangeView(MutableMapping):
    """A stored table seen with integer ids, remembering which ids were written."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.changed: set[int] = set()

    def __getitem__(self, doc_id: int) -> Any:
        value = self.raw[str(doc_id)]
        self.changed.add(doc_id)  # TinyDB's update mutates the document it gets
        return value

    def __setitem__(self, doc_id: int, value: Any) -> None:
        self.changed.add(doc_id)
        self.raw[str(doc_id)] = value

    def __delitem__(self, doc_id: int) -> None:
        self.changed.add(doc_id)
        del self.raw[str(doc_id)]

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self.raw

    def __iter__(self) -> Iterator[int]:
        return (int(k) for k in list(self.raw))

    def __len__(self) -> int:
        return len(self.raw)


class _IncrementalTable(Table):
    """A TinyDB table whose writes cost what they change, not the table's size."""

    @property
    def _journal_storage(self) -> "_JournalStorage":
        return cast(_JournalStorage, self._storage)

    def _read_table(self) -> dict[str, Any]:
        return self._journal_storage.raw_table(self.name)

    def _update_table(self, updater: Callable[[dict], None]) -> None:
        view = _ChangeView(self._journal_storage.raw_table(self.name))
        updater(cast(dict, view))  # TinyDB's updaters only index, set and delete
        self._journal_storage.record(self.name, view.raw, view.changed)
        self.clear_cache()


class _Database(TinyDB):
    table_class = _IncrementalTable


class _JournalStorage(Storage):
    """TinyDB storage: memory only, or a JSON snapshot plus an append-only journal."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._file = path or ""  # the file's path where there is one (every file method needs one)
        self.data: dict[str, dict[str, Any]] = {}
        self._pending: list[str] = []
        self._written_seq = 0
        self.synced_seq = 0
        self._sync_lock = threading.RLock()  # re-entered by close() under Store.close
        self._journal: IO[str] | None = None
        self._journal_error: OSError | None = None  # a failed journal write: see _append
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        self._lock_file: IO[str] | None = None
        if path:
            self._lock()
            try:
                if os.path.isdir(path):
                    raise StoreCorrupt(f"cannot open the database file {path}: it is a directory")
                if self._load() or not os.path.exists(path):
                    self._write_snapshot()
                self._journal = open(self._journal_path, "a", encoding="utf-8")
            except BaseException:
                if self._lock_file is not None:
                    self._lock_file.close()
                raise

    def _lock(self) -> None:
        """Hold an exclusive lock beside the file while it is open: two emulators writing
        one file would each overwrite the other's changes."""
        import fcntl

        lock_path = f"{self.path}.lock"
        try:
            handle = open(lock_path, "a", encoding="utf-8")  # held until close()
        except OSError as exc:
            raise StoreCorrupt(f"cannot open the database file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StoreLocked(f"the database file {self.path} is in use by another emulator (a running "
                              f"`abaco-emulator serve --db {self.path}`?): talk to that one (over HTTP), "
                              "or close it first") from None
        self._lock_file = handle

    @property
    def _journal_path(self) -> str:
        return f"{self.path}.journal"

    def _load(self) -> bool:
        """Read the snapshot and replay the journal; True when the journal held changes."""
        if os.path.exists(self._file) and os.path.getsize(self._file) > 0:
            try:
                with open(self._file, encoding="utf-8") as handle:
                    self.data = json.load(handle)
            except (OSError, ValueError) as exc:
                raise StoreCorrupt(f"cannot read the database file {self.path}: {exc}") from exc
        if not os.path.exists(self._journal_path):
            return False
        with open(self._journal_path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        replayed = False
        for number, line in enumerate(lines):
            if not line:
                continue
            try:
                table, doc_id, doc = json.loads(line)
            except ValueError as exc:
                if number >= len(lines) - 2:
                    break  # the last line was cut by a crash before it was acknowledged
                raise StoreCorrupt(f"line {number + 1} of {self._journal_path} is damaged") from exc
            replayed = True
            if doc is None:
                self.data.get(table, {}).pop(doc_id, None)
            else:
                self.data.setdefault(table, {})[doc_id] = doc
        return replayed

    def _write_snapshot(self) -> None:
        """Replace the snapshot atomically and empty the journal."""
        text = json.dumps(self.data, separators=(",", ":"))
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._file)
        directory = os.open(os.path.dirname(os.path.abspath(self._file)), os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        with open(self._journal_path, "w", encoding="utf-8") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        self._snapshot_bytes = len(text)
        self._journal_bytes = 0
        self._pending.clear()

    def read(self) -> dict[str, dict[str, Any]]:
        return self.data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self.data = data
        if self.path:
            self._write_snapshot()

    def raw_table(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {})

    def record(self, table: str, raw: dict[str, Any], doc_ids: set[int]) -> None:
        """Queue the changed documents for the journal (called under the store lock)."""
        if not self.path or not doc_ids:
            return
        for doc_id in doc_ids:
            key = str(doc_id)
            line = json.dumps([table, key, raw.get(key)], separators=(",", ":")) + "\n"
            self._pending.append(line)
            self._journal_bytes += len(line)
        self._written_seq += 1

    @property
    def written_seq(self) -> int:
        return self._written_seq

    def sync(self, seq: int, take_pending: Callable[[], tuple[list[str], int]]) -> None:
        """Make every change up to `seq` durable; one fsync serves all waiting writers."""
        if not self.path:
            return
        with self._sync_lock:
            if self.synced_seq >= seq:
                return
            if self._journal is None:  # closed: a change made now cannot be saved, say so
                raise StoreError(f"the database file {self.path} is closed: the change was not saved")
            self._journal_pending(take_pending)

    def _journal_pending(self, take_pending: Callable[[], tuple[list[str], int]]) -> None:
        """Append and fsync the changes not yet journaled; they are then durable."""
        lines, upto = take_pending()
        if lines or self._journal_error:
            self._append(lines)
        self.synced_seq = max(self.synced_seq, upto)

    def _append(self, lines: list[str]) -> None:
        """Write and fsync journal lines. A failure is kept: the lines it lost may hold
        other writers' changes, so no later change may be acknowledged as saved."""
        if self._journal_error is not None:
            raise StoreError(f"cannot write the database file {self.path}: {self._journal_error} "
                             "(an earlier change); this change was not saved")
        journal = self._journal
        if journal is None:
            raise StoreError(f"the database file {self.path} is closed: the change was not saved")
        try:
            journal.write("".join(lines))
            journal.flush()
            os.fsync(journal.fileno())
        except OSError as exc:
            self._journal_error = exc
            raise StoreError(f"cannot write the database file {self.path}: {exc}") from exc

    def _compaction_due(self) -> bool:
        return self._journal_bytes > max(_COMPACT_MIN_BYTES, 2 * self._snapshot_bytes)

    @contextmanager
    def locked_with(self, store_lock: Any) -> Iterator[None]:
        """This storage's lock, then `store_lock`: sync()'s order, which every writer that
        needs both must follow (the other order deadlocked with a racing write)."""
        with self._sync_lock, store_lock:
            yield

    def compact_if_due(self, store_lock: Any) -> None:
        """Fold a grown journal into a new snapshot, between transactions (a snapshot taken
        inside one would hold half of it after a crash). Locks in sync()'s order (this
        lock, then the store's), and journals the pending changes first, so that a crash
        between the rename and the journal's truncation replays nothing stale."""
        if not self.path or not self._compaction_due():
            return
        with self.locked_with(store_lock):
            if self._journal is None or not self._compaction_due():  # another writer compacted first
                return
            self._journal_pending(self.take_pending)
            self._write_snapshot()

    def take_pending(self) -> tuple[list[str], int]:
        lines, self._pending = self._pending, []
        return lines, self._written_seq

    def close(self) -> None:
        """Fold the journal into the snapshot, so the file alone is the whole database."""
        if self._journal is None:
            return
        with self._sync_lock:
            try:
                if self._journal_bytes or self._pending:
                    self._write_snapshot()
            finally:  # also after a write error: the file is released
                self._journal.close()
                self._journal = None
                if self._lock_file is not None:
                    self._lock_file.close()  # releases the lock


R = TypeVar("R")


class Collection(Generic[R]):
    """One kind of record of a `Store`, typed: `store.actors.get(actor_id)` is an ActorRecord."""

    def __init__(self, store: "Store", kind: str) -> None:
        self._store = store
        self.kind = kind

    # The store's records are the kind's TypedDicts; the ignores say so without a cast call.
    def insert(self, record: R) -> None:
        self._store.insert(self.kind, record)  # type: ignore[arg-type]

    def get(self, key: str) -> R | None:
        return self._store.get(self.kind, key)  # type: ignore[return-value]

    def update(self, key: str, fields: Mapping[str, Any]) -> R:
        return self._store.update(self.kind, key, fields)  # type: ignore[return-value]

    def delete(self, key: str) -> bool:
        return self._store.delete(self.kind, key)

    def all(self) -> list[R]:
        return self._store.all(self.kind)  # type: ignore[return-value]

    def by_actor(self, actor_id: str, skip: int = 0, limit: int | None = None) -> list[R]:
        return self._store.by_actor(self.kind, actor_id, skip, limit)  # type: ignore[return-value]

    def count_by_actor(self, actor_id: str) -> int:
        return self._store.count_by_actor(self.kind, actor_id)

    def indexed_values(self) -> list[Any]:
        return self._store.indexed_values(self.kind)

    def by_index(self, value: Any) -> list[R]:
        """The records whose indexed field is `value` (what `by_actor` is for most kinds)."""
        return self._store.by_actor(self.kind, value)  # type: ignore[return-value]


class Store:
    """Thread-safe repository of records keyed by id, with a secondary index by actor.

    Each kind is also a typed `Collection` attribute (`store.executions.by_actor(...)`).
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._local = threading.local()
        self._durable_seq = 0  # the last change a durable transaction made (see _settled)
        self._db = _Database(storage=_JournalStorage, path=path)
        self._storage = cast(_JournalStorage, self._db.storage)
        # kind -> record key -> TinyDB's document id, as the str its tables are keyed by
        self._doc_ids: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        # kind -> the indexed field's value (an actor id) -> the keys of its records, in order
        self._index: dict[str, dict[Any, dict[str, None]]] = {kind: {} for kind in _INDEXED_BY}
        self._sums: dict[str, dict[Any, dict[str, int]]] = {kind: {} for kind in _SUMMED}
        for kind in KINDS:
            raw = self._storage.raw_table(kind)
            for doc_id in sorted(raw, key=int):
                self._remember(kind, int(doc_id), raw[doc_id])
        # The stored tables, one per kind (read directly: reads are on every request).
        self._data = {kind: self._storage.raw_table(kind) for kind in KINDS}
        self.actors: Collection[ActorRecord] = Collection(self, "actors")
        self.executions: Collection[ExecutionRecord] = Collection(self, "executions")
        self.workers: Collection[WorkerRecord] = Collection(self, "workers")
        self.nonces: Collection[NonceRecord] = Collection(self, "nonces")
        self.aliases: Collection[AliasRecord] = Collection(self, "aliases")
        self.permissions: Collection[PermissionRecord] = Collection(self, "permissions")
        self.messages: Collection[MessageRecord] = Collection(self, "messages")
        self.logs: Collection[LogRecord] = Collection(self, "logs")
        self.results: Collection[ResultRecord] = Collection(self, "results")
        self.events: Collection[EventRecord] = Collection(self, "events")
        self.configs: Collection[ConfigRecord] = Collection(self, "configs")  # indexed by tenant

    # -- bookkeeping -------------------------------------------------------------
    @staticmethod
    def key_of(kind: str, record: Mapping[str, Any]) -> str:
        return record["id"]

    def _remember(self, kind: str, doc_id: int, record: Mapping[str, Any]) -> None:
        key = self.key_of(kind, record)
        self._doc_ids[kind][key] = str(doc_id)
        field = _INDEXED_BY.get(kind)
        if field:
            self._index[kind].setdefault(record.get(field), {})[key] = None
        self._add_to_sums(kind, record, 1)

    def _forget(self, kind: str, record: Mapping[str, Any]) -> None:
        key = self.key_of(kind, record)
        del self._doc_ids[kind][key]
        field = _INDEXED_BY.get(kind)
        if field:
            bucket = self._index[kind].get(record.get(field), {})
            bucket.pop(key, None)
            if not bucket:
                self._index[kind].pop(record.get(field), None)
        self._add_to_sums(kind, record, -1)

    def _add_to_sums(self, kind: str, record: Mapping[str, Any], sign: int) -> None:
        fields = _SUMMED.get(kind)
        if fields:
            sums = self._sums[kind].setdefault(record.get(_INDEXED_BY[kind]), dict.fromkeys(fields, 0))
            for name in fields:
                sums[name] += sign * (record.get(name) or 0)

    # -- transactions --------------------------------------------------------------
    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[None]:
        """Group several operations: atomic for other threads, durable on exit.

        `durable=False` leaves the changes in memory until the next durable write (or
        close) commits them with its own: for changes a crash may lose harmlessly.
        """
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.after = []
        with self._lock:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
                seq = self._storage.written_seq
        if depth == 0:
            if durable:
                self._durable_seq = max(self._durable_seq, seq)
                self._storage.sync(seq, self._take_pending)
                self._storage.compact_if_due(self._lock)
            callbacks, self._local.after = self._local.after, []
            for callback in callbacks:
                callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the transaction this thread is in is written (at once when
        it is in none), outside the store's lock: what a change's cause must not do while
        holding it (queue a stored message, wake a sender)."""
        if getattr(self._local, "depth", 0):
            self._local.after.append(callback)
        else:
            callback()

    def _settled(self) -> None:
        """Before a read outside a transaction: wait until every durable write it could see
        is on disk, so nobody is shown a change (an execution COMPLETE) that a crash
        could still take back. Usually it is already, or one shared fsync away. Readers
        call it only when `synced_seq < _durable_seq` (never, in memory): reads are hot."""
        if self.path and not getattr(self._local, "depth", 0):
            self._storage.sync(self._durable_seq, self._take_pending)

    def _take_pending(self) -> tuple[list[str], int]:
        with self._lock:
            return self._storage.take_pending()

    # -- operations ------------------------------------------------------------------
    def insert(self, kind: str, record: Mapping[str, Any]) -> None:
        with self.transaction():
            key = self.key_of(kind, record)
            if key in self._doc_ids[kind]:
                raise KeyError(f"{kind} {key} exists already")
            doc_id = self._db.table(kind).insert(record)
            self._remember(kind, doc_id, record)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        if self._storage.synced_seq < self._durable_seq:
            self._settled()
        with self._lock:
            doc_id = self._doc_ids[kind].get(key)
            if doc_id is None:
                return None
            return dict(self._data[kind][doc_id])

    def update(self, kind: str, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change some fields of a record; returns the new record. KeyError if missing."""
        with self.transaction():
            doc_id = self._doc_ids[kind][key]
            before = dict(self._data[kind][doc_id])
            field = _INDEXED_BY.get(kind)
            moved = field is not None and field in fields and fields[field] != before.get(field)
            if moved:
                self._forget(kind, before)
            else:
                self._add_to_sums(kind, before, -1)
            self._db.table(kind).update(fields, doc_ids=[int(doc_id)])
            record = dict(self._data[kind][doc_id])
            if moved:
                self._remember(kind, int(doc_id), record)
            else:
                self._add_to_sums(kind, record, 1)
            return record

    def delete(self, kind: str, key: str) -> bool:
        with self.transaction():
            record = self.get(kind, key)
            if record is None:
                return False
            self._db.table(kind).remove(doc_ids=[int(self._doc_ids[kind][key])])
            self._forget(kind, record)
            return True

    def all(self, kind: str) -> list[dict[str, Any]]:
        if self._storage.synced_seq < self._durable_seq:
            self._settled()
        with self._lock:
            raw = self._data[kind]
            return [dict(raw[doc_id]) for doc_id in self._doc_ids[kind].values()]

    def by_actor(self, kind: str, actor_id: str, skip: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The records of `kind` that belong to one actor, oldest first (a page of them)."""
        if self._storage.synced_seq < self._durable_seq:
            self._settled()
        with self._lock:
            raw = self._data[kind]
            ids = self._doc_ids[kind]
            keys = self._index[kind].get(actor_id, {})
            end = None if limit is None else skip + limit
            return [dict(raw[ids[key]]) for key in itertools.islice(keys, skip, end)]

    def indexed_values(self, kind: str) -> list[Any]:
        """The distinct values of a kind's indexed field (the actors' next cron hours)."""
        if self._storage.synced_seq < self._durable_seq:
            self._settled()
        with self._lock:
            return list(self._index[kind])

    def sums_by_actor(self, kind: str, actor_id: str) -> dict[str, int]:
        """Running totals of the summed fields of one actor's records."""
        if self._storage.synced_seq < self._durable_seq:
            self._settled()
        with self._lock:
            return dict(self._sums[kind].get(actor_id) or dict.fromkeys(_SUMMED[kind], 0))

    def count_by_actor(self, kind: str, actor_id: str) -> int:
        if self._storage.synced_seq < self._durable_seq:
            self._settled()
        with self._lock:
            return len(self._index[kind].get(actor_id, {}))

    def count_up(self, counter: str) -> None:
        """Add one to a named counter (kept with the records, e.g. actors ever registered)."""
        with self.transaction():
            current = self.get("stats", counter)
            if current is None:
                self.insert("stats", {"id": counter, "count": 1})
            else:
                self.update("stats", counter, {"count": current["count"] + 1})

    def counted(self, counter: str) -> int:
        current = self.get("stats", counter)
        return int(current["count"]) if current else 0

    def close(self) -> None:
        with self._storage.locked_with(self._lock):
            try:
                self._storage.sync(self._storage.written_seq, self._storage.take_pending)
            finally:
                self._db.close()
