"""Mailboxes, workers and executions: what happens to a message once it is accepted.

A message is stored (with its SUBMITTED execution) before its sender gets an
execution id, and it stays in the store until the execution that ran it is recorded
COMPLETE, in the same transaction. So a crash at any moment loses nothing: on the
next start every stored message is queued again (an execution that was RUNNING at the
crash runs again from the start) and a completed one never runs twice.

Each actor has a `Mailbox` (FIFO) and one or more `Worker` threads; a worker takes one
message at a time and runs it through the runner. A stateful actor has exactly one
worker, so its messages run strictly one at a time; a stateless actor runs as many at
once as it has workers.

Every change of an actor's status and every finished execution goes through one
place (`_set_actor_status`, `_record`), which records it and hands an `EngineEvent`
to the subscribers (`subscribe`) inside the same store transaction, so what they
write (a linked actor's message, say) is kept or lost together with its cause.
"""
from __future__ import annotations

import base64
import socket
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import models
from .auth import TokenRegistry
from .clock import Clock
from .contract import Message, environment_for
from .errors import BadRequest, ExecutionTimeout, ImageUnavailable, NotFound, PrivilegedRefused, RunnerUnavailable
from .models import ActorRecord, ExecutionRecord, MessageRecord
from .runners.base import ExecutionSpec, RunOutcome, Runner
from .runners.output import LogBuffer
from .schemas import check_json
from .store import Store
from .waiting import Deadline

MAX_RUN_TIME_HINT = "max_run_time="
# What records and `_links` show as the API's address until the emulator is served.
DEFAULT_API_SERVER = "http://127.0.0.1:5000"


def _nowhere() -> tuple[socket.socket, str]:
    """A loopback port this process holds without listening: a URL where nothing can ever
    answer (no other server can take the port while the socket is held)."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    return held, f"http://127.0.0.1:{held.getsockname()[1]}"


@dataclass(frozen=True)
class EngineEvent:
    """A change the engine recorded: `ACTOR_<STATUS>` (READY, ERROR, SUBMITTED,
    SHUTTING_DOWN), `EXECUTION_STARTED` or `EXECUTION_COMPLETE`."""

    type: str
    actor_id: str
    time: str
    status: str                       # the actor's new status, or the execution's
    previous: str = ""                # the actor's status before (actor events)
    status_message: str = ""
    execution_id: str | None = None
    exit_code: int | None = None
    # The status the actor had before the emulator restarted, reached again: no change
    # anyone made (event links and webhooks are not told of it again).
    resumed: bool = False


Subscriber = Callable[[EngineEvent], None]


class Mailbox:
    """The queued message ids of one actor, oldest first, with a wake-up for workers.

    A message taken by a worker stays counted (`in_flight`) until the worker calls
    `done()`, so that `Engine.drain` never sees a gap between the two. An `exclusive`
    mailbox (a stateful actor's) hands out no message while one is in flight: its
    messages run one at a time, in order, however many workers the actor has (admins
    may give it several, as on Abaco) and across an update that replaces its worker.
    """

    def __init__(self) -> None:
        self._queue: deque[str] = deque()
        self._cond = threading.Condition()
        self.in_flight = 0
        self.exclusive = False

    def put(self, message_id: str) -> None:
        with self._cond:
            self._queue.append(message_id)
            self._cond.notify()

    def put_back(self, message_id: str) -> None:
        """Return a taken message to the head of the queue (it did not run)."""
        with self._cond:
            self._queue.appendleft(message_id)
            self._cond.notify()

    def take(self, stopping: Callable[[], bool]) -> str | None:
        """The next message id, waiting for one; None once `stopping()` is true."""
        with self._cond:
            while not stopping():
                if self._queue and not (self.exclusive and self.in_flight):
                    self.in_flight += 1
                    return self._queue.popleft()
                self._cond.wait()
            return None

    def done(self) -> None:
        """The message last taken by a worker is recorded (finished or dropped)."""
        with self._cond:
            self.in_flight -= 1
            if self.exclusive:
                self._cond.notify()  # the next message may go now

    def purge(self) -> list[str]:
        with self._cond:
            ids, self._queue = list(self._queue), deque()
            return ids

    def wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._queue)


class Worker(threading.Thread):
    """One worker of an actor: a thread that serves the actor's mailbox (`Engine._serve`)
    one message at a time until it is stopped."""

    def __init__(self, serve: Callable[["Worker"], None], actor_id: str, revision: int) -> None:
        self.id = models.new_id()
        super().__init__(name=f"abaco-worker-{self.id}", daemon=True)
        self._serve = serve
        self.actor_id = actor_id
        self.revision = revision
        self.stop_requested = threading.Event()
        self.current: str | None = None
        self.held = False  # its last message went back to the mailbox: the runner is away

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set()

    def pause(self, seconds: float) -> None:
        """Sleep, but no longer than until the worker is stopped."""
        self.stop_requested.wait(seconds)

    def run(self) -> None:
        self._serve(self)


class Engine:
    """Owns the mailboxes and workers of every actor and records their executions."""

    def __init__(self, store: Store, runner: Runner, tokens: TokenRegistry, *, tenant: str,
                 max_run_time: float | None = None, allow_privileged: bool = False,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or Clock()
        self.allow_privileged = allow_privileged
        self.runner = runner
        self.tokens = tokens
        self.tenant = tenant
        self.max_run_time = max_run_time
        # Where an execution's container calls the API back (`_abaco_api_server`): where it
        # is served, or (`start_api`, on the first execution) a private server of its own;
        # until then a port where nothing answers, never another emulator's.
        self._nowhere, self.api_server = _nowhere()
        self.shown_api_server = DEFAULT_API_SERVER  # what execution records show (`apiServer`)
        self.start_api: Callable[[], None] | None = None
        self._api_lock = threading.Lock()
        self.errors: list[BaseException] = []
        # What an execution's environment gets beyond the contract's (`_actor_configs`: the
        # emulator sets it to its service's ConfigsService.execution_environment).
        self.extra_environment: Callable[[ActorRecord], Mapping[str, str]] = lambda actor: {}
        # Replaced, never changed in place, so publishing reads it without a lock (it runs
        # under the store's lock, which others take while holding the engine's).
        self._subscribers: tuple[Subscriber, ...] = ()
        self._image_lock = threading.Lock()
        self._image_generation = 0
        self._mailboxes: dict[str, Mailbox] = {}
        self._workers: dict[str, Worker] = {}
        self._lock = threading.RLock()
        self._finished = threading.Condition()
        self._running: dict[str, Worker] = {}
        self._live_logs: dict[str, LogBuffer] = {}  # what running executions wrote so far
        self._removed: set[str] = set()  # deleted actors: a racing send queues nothing for them
        self._before_restart: dict[str, str] = {}  # actor id -> its status when the emulator stopped
        self._closed = False
        self.accepting = True  # False once a shutdown began: senders get 503
        self._hurried = False
        self._interrupted: set[str] = set()  # executions a shutdown stopped: not recorded
        # Messages stored but not yet queued (`store_message` until `notify`); its own lock,
        # taken inside store transactions and never while taking another.
        self._unqueued: set[str] = set()
        self._unqueued_lock = threading.Lock()

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        """Queue every stored message again and start the workers of every actor."""
        with self.store.transaction():
            for worker in self.store.workers.all():
                self.store.workers.delete(worker["id"])
            for message in self.store.messages.all():
                execution = self.store.executions.get(message["id"])
                if execution is not None and execution["status"] == models.RUNNING:
                    self.store.executions.update(message["id"], {
                        "status": models.SUBMITTED, "worker_id": None, "start_time": None})
                self.mailbox(message["actor_id"]).put(message["id"])
        for actor in self.store.actors.all():
            if actor["status"] != models.SHUTTING_DOWN:
                self._before_restart[actor["id"]] = actor["status"]
                self._set_actor_status(actor["id"], models.SUBMITTED)
                self.start_actor(actor["id"])

    def stop_accepting(self) -> None:
        """The first step of a shutdown: senders are refused from now on (`accepting`)."""
        self.accepting = False

    def settle(self, grace: float | None) -> None:
        """Take no new message and give the running executions `grace` seconds (None: as
        long as they take) to finish; `hurry()` ends the wait at once."""
        self.stop_accepting()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            self._stop(worker, force=False)
        deadline = Deadline(grace)
        with self._finished:
            while self.running_count() and not deadline.expired and not self._hurried:
                self._finished.wait(deadline.step(0.5))
            self._hurried = True  # the grace is given once: a later settle does not wait again

    def hurry(self) -> None:
        """A second Ctrl-C: stop waiting for running executions."""
        with self._finished:
            self._hurried = True
            self._finished.notify_all()

    def close(self, grace: float | None = 0.0) -> None:
        """Stop every worker and release the runner. Running executions get `grace`
        seconds to finish (`settle`); then they are stopped, and one stopped so is not
        recorded: its message stays stored and runs again when the store is opened again,
        as after a crash. Queued messages stay stored too."""
        self.settle(grace)
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            self._interrupted.update(self._running)
            interrupted = list(self._running)
        for execution_id in interrupted:
            self.runner.stop(execution_id)
        deadline = Deadline(30.0)
        for worker in workers:
            worker.join(deadline.remaining())
        self.runner.close()
        self._nowhere.close()

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call `subscriber` with every event, inside the transaction that records it:
        it may write to the store (atomically with the event's cause) and must not block."""
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)

    def running_count(self) -> int:
        """How many executions run now."""
        with self._lock:
            return len(self._running)

    def report(self, exc: BaseException) -> None:
        """Keep an unexpected error of a background thread for the caller to re-raise."""
        with self._lock:
            self.errors.append(exc)

    # -- the one writer of actor status ----------------------------------------------
    def _set_actor_status(self, actor_id: str, status: str, message: str = "", *,
                          revision: int | None = None, unless: frozenset[str] = frozenset()) -> bool:
        """Record an actor's new status and publish it; False (nothing written) when the
        actor is gone, has moved on to another `revision`, or is in a status of `unless`."""
        with self.store.transaction():
            actor = self.store.actors.get(actor_id)
            if actor is None or (revision is not None and actor["revision"] != revision) \
                    or actor["status"] in unless:
                return False
            self.store.actors.update(actor_id, {"status": status, "status_message": message})
            resumed = status in (models.READY, models.ERROR) and self._before_restart.pop(actor_id, None) == status
            self._publish(EngineEvent(f"ACTOR_{status}", actor_id, self.clock.stamp(), status,
                                      previous=actor["status"], status_message=message, resumed=resumed))
        return True

    def _publish(self, event: EngineEvent) -> None:
        for subscriber in self._subscribers:
            subscriber(event)

    # -- mailboxes -------------------------------------------------------------------
    def mailbox(self, actor_id: str) -> Mailbox:
        with self._lock:
            box = self._mailboxes.get(actor_id)
            if box is None:
                box = self._mailboxes[actor_id] = Mailbox()
            return box

    def notify(self, actor_id: str, message_id: str) -> None:
        """A stored message is queued for the actor's workers (then it is no longer
        `_unqueued`: in this order, `drain` sees it in one place or the other)."""
        with self._lock:
            removed = actor_id in self._removed  # deleted since it was stored: delete_actor drops the record
            box = None if removed else self.mailbox(actor_id)
        if box is not None:
            box.put(message_id)
        with self._unqueued_lock:
            self._unqueued.discard(message_id)

    def store_message(self, actor_id: str, message: Message, executor: str,
                      environment: Mapping[str, Any] | None = None) -> str:
        """Store a message and its SUBMITTED execution in one transaction (joining the
        caller's, if it is in one); `notify` queues it. What a sender, an event and a cron
        schedule have in common; `executor` is who the execution runs for."""
        execution_id = models.new_id()
        execution: ExecutionRecord = {
            "id": execution_id,
            "actor_id": actor_id,
            "api_server": self.shown_api_server,
            "executor": executor,
            "worker_id": None,
            "status": models.SUBMITTED,
            "message_received_time": self.clock.stamp(),
            "start_time": None,
            "finish_time": None,
            "runtime": 0,
            "cpu": 0,
            "io": 0,
            "exit_code": None,
            "final_state": None,
        }
        with self.store.transaction():
            current = self.store.actors.get(actor_id)
            if current is None or current["status"] == models.SHUTTING_DOWN:  # deleted meanwhile
                raise NotFound(f"No actor found with id: {actor_id}.")
            self.store.executions.insert(execution)
            with self._unqueued_lock:  # until `notify`: drain() waits for it too
                self._unqueued.add(execution_id)
            self.store.messages.insert({"id": execution_id, "actor_id": actor_id, "message": message.to_record(),
                                        "environment": {str(k): str(v) for k, v in (environment or {}).items()}})
        return execution_id

    def queued(self, actor_id: str) -> int:
        return len(self.mailbox(actor_id))

    def purge(self, actor_id: str) -> int:
        """Drop the queued (not yet running) messages of an actor."""
        ids = self.mailbox(actor_id).purge()
        with self.store.transaction():
            for message_id in ids:
                self.store.messages.delete(message_id)
        return len(ids)

    # -- workers ---------------------------------------------------------------------
    def start_actor(self, actor_id: str) -> None:
        self.add_workers(actor_id, 1)

    def add_workers(self, actor_id: str, count: int) -> list[str]:
        """Start `count` workers (a stateful actor's take its messages one at a time, see Mailbox)."""
        actor = self.store.actors.get(actor_id)
        started: list[str] = []
        with self._lock:
            if self._closed or actor is None:  # closed, or the actor was deleted meanwhile
                return started
            self.mailbox(actor_id).exclusive = not actor["stateless"]
            for _ in range(count):
                worker = Worker(self._serve, actor_id, actor["revision"])
                self._workers[worker.id] = worker
                self.store.workers.insert({
                    "id": worker.id, "actor_id": actor_id, "status": models.WORKER_REQUESTED,
                    "ch_name": f"worker_{worker.id}", "image": actor["image"], "location": self.runner.location,
                    # The emulator's worker is a thread, not a container: its "container id" names it.
                    "cid": f"abaco-emulator-worker-{worker.id}", "host_id": "abaco-emulator",
                    "host_ip": "127.0.0.1", "create_time": self.clock.stamp(),
                    "last_execution_time": None, "last_health_check_time": self.clock.stamp(),
                    "tenant": actor.get("tenant"),
                })
                worker.start()
                started.append(worker.id)
        return started

    def workers_of(self, actor_id: str) -> list[Worker]:
        with self._lock:
            return [w for w in self._workers.values() if w.actor_id == actor_id]

    def _stop(self, worker: Worker, force: bool) -> None:
        """Take no more messages; with `force`, also end the running execution now."""
        worker.stop_requested.set()
        self.mailbox(worker.actor_id).wake_all()
        current = worker.current
        if force and current is not None:
            self.runner.stop(current)

    def restart_actor(self, actor_id: str) -> ActorRecord | None:
        """New image or forced update: the actor is SUBMITTED again (returned as recorded);
        old workers finish what they run, new ones start."""
        self._set_actor_status(actor_id, models.SUBMITTED)
        actor = self.store.actors.get(actor_id)
        with self._lock:  # with stop_worker's replacement, a stateful actor could get two
            old = self.workers_of(actor_id)
            serving = len([w for w in old if not w.stopping])  # not those deleted, still finishing
            for worker in old:
                self._stop(worker, force=False)
            with self.store.transaction():
                for record in self.store.workers.by_actor(actor_id):
                    if record["status"] == models.WORKER_ERROR:
                        self.store.workers.delete(record["id"])
            self.add_workers(actor_id, max(1, serving))
        return actor

    def _prepare_image(self, worker: Worker, image: str) -> bool:
        """Make the image ready for `worker`; on failure the actor goes to ERROR (False).

        An image made available while the preparation failed (`retry_image`) is tried
        again, so a registration racing a starting worker is never lost.
        """
        while True:
            generation = self._image_generation
            try:
                self.runner.prepare(image)
                return True
            except Exception as exc:  # the image cannot run: the actor is in ERROR
                with self._image_lock:
                    if generation != self._image_generation:
                        continue
                    self._worker_failed(worker, exc)
                    return False

    def retry_image(self, image: str) -> None:
        """Actors in ERROR because `image` could not run get new workers (it can run now)."""
        with self._image_lock:
            self._image_generation += 1
            stuck = [a["id"] for a in self.store.actors.all()
                     if a["image"] == image and a["status"] == models.ERROR]
        for actor_id in stuck:
            self.restart_actor(actor_id)

    def remove_actor(self, actor_id: str, timeout: float = 30.0) -> None:
        """The actor is SHUTTING_DOWN: stop its workers, force-quitting what they run, and
        wait for them."""
        self._set_actor_status(actor_id, models.SHUTTING_DOWN)
        workers = self.workers_of(actor_id)
        for worker in workers:
            self._stop(worker, force=True)
        deadline = Deadline(timeout)
        for worker in workers:
            if worker is not threading.current_thread():
                worker.join(deadline.remaining())
        self.mailbox(actor_id).purge()
        with self._lock:
            self._removed.add(actor_id)
            self._mailboxes.pop(actor_id, None)

    def stop_worker(self, worker_id: str) -> None:
        """deleteWorker. The actor's last worker is replaced at once (as Abaco's
        ensure_one_worker would on the next message): its queued and later messages
        must not wait for a worker that never comes."""
        with self._lock:  # as restart_actor: one of them decides on a replacement
            worker = self._workers.get(worker_id)
            if worker is not None:
                last = not worker.stopping and not any(
                    w is not worker and w.actor_id == worker.actor_id and not w.stopping
                    for w in self._workers.values())
                self._set_worker_status(worker_id, models.WORKER_SHUTTING_DOWN)
                self._stop(worker, force=False)
                actor = self.store.actors.get(worker.actor_id) if last else None
                if actor is not None and actor["status"] != models.SHUTTING_DOWN:
                    self.add_workers(worker.actor_id, 1)
        if worker is None:
            self.store.workers.delete(worker_id)
            return
        self._stop(worker, force=True)  # ends its running execution (outside the lock: a runner call)

    def _set_worker_status(self, worker_id: str, status: str) -> None:
        if self.store.workers.get(worker_id) is not None:
            self.store.workers.update(worker_id, {"status": status, "last_health_check_time": self.clock.stamp()})

    def _actor_ready(self, actor_id: str, revision: int) -> None:
        self._set_actor_status(actor_id, models.READY, revision=revision,
                               unless=frozenset({models.READY, models.SHUTTING_DOWN}))

    def _worker_failed(self, worker: Worker, exc: Exception) -> None:
        """The worker cannot run the actor's image: the actor goes to ERROR, messages wait."""
        reason = str(exc) if isinstance(exc, (ImageUnavailable, PrivilegedRefused)) else f"{type(exc).__name__}: {exc}"
        with self.store.transaction():
            if self.store.workers.get(worker.id) is not None:
                self.store.workers.update(worker.id, {"status": models.WORKER_ERROR})
            self._set_actor_status(worker.actor_id, models.ERROR, reason, revision=worker.revision,
                                   unless=frozenset({models.SHUTTING_DOWN}))

    def _serve(self, worker: Worker) -> None:
        """A worker's life: make its image ready, then run its actor's messages one at a time."""
        try:
            actor = self.store.actors.get(worker.actor_id)
            if actor is None or worker.stopping:
                return
            if actor["privileged"] and not self.allow_privileged:
                self._worker_failed(worker, PrivilegedRefused(
                    "This emulator does not run privileged actors (a privileged container can reach the "
                    "host's Docker engine): allow them with AbacoEmulator(allow_privileged=True) or "
                    "`serve --allow-privileged`, then update the actor. Its messages wait."))
                return
            if not self._prepare_image(worker, actor["image"]):
                return
            self._set_worker_status(worker.id, models.WORKER_READY)
            self._actor_ready(worker.actor_id, worker.revision)  # its image is ready: so is the actor
            mailbox = self.mailbox(worker.actor_id)
            while True:
                message_id = mailbox.take(lambda: worker.stopping)
                if message_id is None:
                    break
                worker.current = message_id
                try:
                    self._execute(worker, message_id)
                finally:
                    worker.current = None
                    mailbox.done()
                if worker.held and not self._wait_for_runner(worker, actor["image"]):
                    break
            self.store.workers.delete(worker.id)
        except BaseException as exc:  # a bug of the emulator: keep it for the test to see
            self.report(exc)
        finally:
            with self._lock:
                self._workers.pop(worker.id, None)

    # -- executions ------------------------------------------------------------------
    def _max_run_time(self, actor: ActorRecord) -> float | None:
        for hint in actor.get("hints") or ():
            if isinstance(hint, str) and hint.startswith(MAX_RUN_TIME_HINT):
                try:
                    return float(hint[len(MAX_RUN_TIME_HINT):])
                except ValueError:
                    pass
        return self.max_run_time

    def _update_state(self, actor_id: str, value: Any) -> None:
        """State written by a running in-process handler (for its actor's owner)."""
        actor = self.store.actors.get(actor_id)
        if actor is None:
            raise BadRequest(f"Actor does not exist: {actor_id}.")
        if actor["stateless"]:
            raise NotFound("actor is stateless.")
        check_json(value, "state")
        self.store.actors.update(actor_id, {"state": value})

    def _execute(self, worker: Worker, message_id: str) -> None:
        """Run one queued message and record its execution."""
        record = self.store.messages.get(message_id)
        actor = self.store.actors.get(worker.actor_id)
        if record is None or actor is None:
            return
        message = Message.from_record(record["message"])
        # Not forced to disk: after a crash the message is still stored and runs again,
        # whether or not RUNNING was written.
        with self.store.transaction(durable=False):
            execution = self.store.executions.update(message_id, {
                "status": models.RUNNING, "start_time": self.clock.stamp(), "worker_id": worker.id})
            self.store.workers.update(worker.id, {"status": models.WORKER_BUSY,
                                                  "last_execution_time": self.clock.stamp()})
            self._publish(EngineEvent("EXECUTION_STARTED", actor["id"], self.clock.stamp(), models.RUNNING,
                                      execution_id=message_id))
        with self._lock:
            self._running[message_id] = worker
        self._ensure_api()
        token = self.tokens.issue_execution_token(actor["owner"], actor.get("tenant") or self.tenant)
        try:
            spec = self._spec(actor, worker, execution, record, message, token)
            with self._lock:
                self._live_logs[message_id] = spec.log
            outcome = self.runner.run(spec)
            status = models.COMPLETE
        except RunnerUnavailable as exc:  # nothing ran: the message waits for the runner
            self._hold(worker, message_id, exc)
            return
        except Exception as exc:  # the platform failed to run it: ERROR, reason in the logs
            written = getattr(exc, "logs", "")  # what the actor wrote before the failure
            if written and not written.endswith("\n"):
                written += "\n"
            outcome = RunOutcome(exit_code=-1, logs=f"{written}abaco-emulator: the execution failed in the "
                                                    f"emulator, not in the actor: {exc}\n",
                                 results=[], start_time=execution["start_time"] or self.clock.stamp(),
                                 finish_time=self.clock.stamp(), runtime=0)
            status = models.ERROR
        finally:
            self.tokens.revoke(token)
        if message_id in self._interrupted:  # stopped by a shutdown: it has not run, as after a crash
            self._forget_running(message_id)
            return
        self._record(worker, execution, outcome, status)

    def _ensure_api(self) -> None:
        """An execution is about to start: its container needs an API to call back."""
        if self.start_api is None:
            return
        with self._api_lock:
            start, self.start_api = self.start_api, None
            if start is not None:
                start()

    def _spec(self, actor: ActorRecord, worker: Worker, execution: ExecutionRecord, record: MessageRecord,
              message: Message, token: str) -> ExecutionSpec:
        return ExecutionSpec(
            execution_id=execution["id"], actor_id=actor["id"], worker_id=worker.id, image=actor["image"],
            environment=environment_for(
                actor, message, record.get("environment") or {}, execution_id=execution["id"],
                worker_id=worker.id, api_server=self.api_server,
                username=None if execution["executor"] == models.CRON_EXECUTOR else execution["executor"],
                access_token=token, state=actor.get("state"), extra=self.extra_environment(actor)),
            binary=message.data, max_run_time=self._max_run_time(actor), mem_limit=actor.get("mem_limit"),
            max_cpus=actor.get("max_cpus"), use_container_uid=actor.get("use_container_uid", False),
            privileged=actor.get("privileged", False), mounts=actor.get("mounts") or [],
            update_state=lambda value: self._update_state(actor["id"], value), clock=self.clock)

    def _record(self, worker: Worker, execution: ExecutionRecord, outcome: RunOutcome, status: str) -> None:
        execution_id, actor_id = execution["id"], execution["actor_id"]
        with self.store.transaction():
            if self.store.executions.get(execution_id) is not None:
                self.store.executions.update(execution_id, {
                    "status": status, "start_time": outcome.start_time, "finish_time": outcome.finish_time,
                    "runtime": outcome.runtime, "cpu": outcome.cpu, "io": outcome.io,
                    "exit_code": outcome.exit_code, "final_state": outcome.final_state or None,
                })
            if self.store.actors.get(actor_id) is not None:
                self.store.logs.delete(execution_id)
                self.store.logs.insert({"id": execution_id, "actor_id": actor_id, "logs": outcome.logs})
                self.store.results.delete(execution_id)
                if outcome.results:
                    self.store.results.insert({
                        "id": execution_id, "actor_id": actor_id,
                        "items": [base64.b64encode(r).decode("ascii") for r in outcome.results]})
            self.store.messages.delete(execution_id)
            if self.store.workers.get(worker.id) is not None:
                self.store.workers.update(worker.id, {"status": models.WORKER_READY})
            self._publish(EngineEvent("EXECUTION_COMPLETE", actor_id, self.clock.stamp(), status,
                                      execution_id=execution_id, exit_code=outcome.exit_code))
        self._forget_running(execution_id)  # after the record: a reader of live logs then finds the stored ones

    def _forget_running(self, execution_id: str) -> None:
        with self._lock:
            self._running.pop(execution_id, None)
            self._live_logs.pop(execution_id, None)
        with self._finished:
            self._finished.notify_all()

    def _hold(self, worker: Worker, message_id: str, exc: Exception) -> None:
        """Put a message that could not start back in the mailbox; the actor is in ERROR
        (with the reason) until the runner answers again, as Abaco's actors are when
        their workers cannot start."""
        with self.store.transaction():
            if self.store.executions.get(message_id) is not None:
                self.store.executions.update(message_id, {"status": models.SUBMITTED, "start_time": None,
                                                          "worker_id": None})
            self._set_actor_status(worker.actor_id, models.ERROR, f"{exc} Its messages wait until it answers.",
                                   unless=frozenset({models.SHUTTING_DOWN}))
            self._set_worker_status(worker.id, models.WORKER_ERROR)
        self._forget_running(message_id)
        self.mailbox(worker.actor_id).put_back(message_id)
        worker.held = True

    def _wait_for_runner(self, worker: Worker, image: str) -> bool:
        """Wait, without end but for a stop, until the runner can run `image` again."""
        delay = 0.5
        while not worker.stopping:
            try:
                self.runner.prepare(image)
            except Exception:
                worker.pause(delay)
                delay = min(delay * 2, 5.0)
                continue
            worker.held = False
            self._set_worker_status(worker.id, models.WORKER_READY)
            self._actor_ready(worker.actor_id, worker.revision)
            return True
        return False

    def live_logs(self, execution_id: str) -> str | None:
        """What a running execution has written so far; None once it is not running (its
        logs are then the stored ones). Emulator-only: Abaco shows logs at the end."""
        with self._lock:
            log = self._live_logs.get(execution_id)
        return None if log is None else log.text()

    def force_quit(self, execution_id: str) -> None:
        self.runner.stop(execution_id)

    def wait_for(self, execution_id: str, timeout: float | None) -> ExecutionRecord:
        """The execution once COMPLETE or ERROR; ExecutionTimeout if it takes longer."""
        deadline = Deadline(timeout)
        with self._finished:
            while True:
                execution = self.store.executions.get(execution_id)
                if execution is None:
                    raise ExecutionTimeout(f"execution {execution_id} does not exist")
                if execution["status"] in models.FINISHED:
                    return execution
                if deadline.expired:
                    raise ExecutionTimeout(self._stuck_reason(execution, timeout))
                self._finished.wait(deadline.step(0.5))

    def _stuck_reason(self, execution: ExecutionRecord, timeout: float | None) -> str:
        actor = self.store.actors.get(execution["actor_id"])
        reason = f"execution {execution['id']} is still {execution['status']} after {timeout} s"
        if actor is None:
            return reason + f"; its actor {execution['actor_id']} was deleted"
        if actor["status"] == models.ERROR:
            return reason + f"; its actor {actor['id']} is in ERROR: {actor['status_message']}"
        return reason + f"; {len(self.mailbox(actor['id']))} message(s) are queued for actor {actor['id']}"

    def drain(self, timeout: float | None) -> None:
        """Wait until no message is queued and nothing runs."""
        deadline = Deadline(timeout)
        with self._finished:
            while True:
                with self._unqueued_lock:  # first: a message leaves it only once it is in a mailbox
                    unqueued = len(self._unqueued)  # stored, about to be queued (an event's message)
                with self._lock:
                    queued = {a: len(b) for a, b in self._mailboxes.items() if len(b)}
                    running = max(len(self._running), sum(b.in_flight for b in self._mailboxes.values()))
                running += unqueued
                if not queued and not running:
                    return
                if deadline.expired:
                    raise ExecutionTimeout(f"drain timed out after {timeout} s with {running} execution(s) "
                                           f"running and messages queued for: {self._queued_reasons(queued)}")
                self._finished.wait(deadline.step(0.5))

    def _queued_reasons(self, queued: Mapping[str, int]) -> str:
        stuck = []
        for actor_id, count in queued.items():
            actor = self.store.actors.get(actor_id)
            note = f" (ERROR: {actor['status_message']})" if actor and actor["status"] == models.ERROR else ""
            stuck.append(f"{actor_id}: {count} queued{note}")
        return ", ".join(stuck) or "none"
