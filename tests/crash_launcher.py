"""A `serve(db_path=..., runner="local")` process for tests/store/test_crash_safety.py to kill.

    python tests/crash_launcher.py DB RUNS_FILE [--compact-bytes N] [--die-in-compaction WHEN:K]
                                   [--shutdown-grace SECONDS] [--image-first]

The image `crash/count:1` runs a handler that appends "<execution id> <message>" to
RUNS_FILE (O_APPEND + fsync, so a line written is a run that happened, whatever kills
the process next) and then sleeps a little, so that executions are running when the
process is killed. The launcher prints `ready <url>`, serves until SIGTERM, closes the
server (folding the journal into the file) and prints `closed`.

`--shutdown-grace` is how long running executions may finish after SIGTERM.
`--compact-bytes` lowers the store's compaction threshold, so that snapshots are
rewritten often. `--die-in-compaction WHEN:K` makes the process SIGKILL itself in the
K-th snapshot rewrite after start-up: `before-rename` (the new snapshot written and
fsynced, the old one still in place), `after-rename` (the new snapshot in place, the
journal not yet emptied) or `after-truncate` (the journal just emptied, before anything
else runs): the moments where a crash meets a half-done compaction.

`--image-first` registers the image with the local runner before the emulator opens the
file, as a Docker image exists before a restart: the restarted actors become READY
again directly, without the ERROR of an image not yet registered (which events of
tests/store/test_events_and_time_durability.py would otherwise report).
"""
from __future__ import annotations

import argparse
import os
import signal
import time

import abaco_emulator
from abaco_emulator import store
from abaco_emulator.runners.local import LocalRunner

IMAGE = "crash/count:1"


def count(ctx) -> None:
    """Record this run durably, then take a few milliseconds, as real work would."""
    fd = os.open(os.environ["CRASH_RUNS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{ctx['execution_id']} {ctx['raw_message']}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    time.sleep(0.003)


class _OsDyingInCompaction:
    """The `os` module as the store sees it, but `replace` (the snapshot's rename) kills
    the process at the chosen moment of the K-th call once armed."""

    def __init__(self, when: str, nth: int) -> None:
        self.when = when
        self.nth = nth
        self.calls = 0
        self.armed = False

    def __getattr__(self, name: str):
        return getattr(os, name)

    def replace(self, src: str, dst: str) -> None:
        due = False
        if self.armed:
            self.calls += 1
            due = self.calls == self.nth
        if due and self.when == "before-rename":
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace(src, dst)
        if due and self.when == "after-rename":
            os.kill(os.getpid(), signal.SIGKILL)
        self.fsyncs_to_truncation = 2 if due else None  # the directory's, then the emptied journal's

    fsyncs_to_truncation = None

    def fsync(self, fd: int) -> None:
        os.fsync(fd)
        if self.when == "after-truncate" and self.fsyncs_to_truncation is not None:
            self.fsyncs_to_truncation -= 1
            if self.fsyncs_to_truncation == 0:
                os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("runs_file")
    parser.add_argument("--compact-bytes", type=int, default=None)
    parser.add_argument("--die-in-compaction", default=None, metavar="WHEN:K")
    parser.add_argument("--shutdown-grace", type=float, default=10.0)
    parser.add_argument("--image-first", action="store_true")
    args = parser.parse_args()
    os.environ["CRASH_RUNS_FILE"] = args.runs_file
    if args.compact_bytes is not None:
        store._COMPACT_MIN_BYTES = args.compact_bytes
    dying = None
    if args.die_in_compaction:
        when, nth = args.die_in_compaction.split(":")
        dying = store.os = _OsDyingInCompaction(when, int(nth))

    # As `serve` does: the handler only notes the signal (it may run while the main thread
    # holds a lock), and the main thread sleeps in short steps (a blocking wait is not
    # woken by a signal the kernel gives to another thread).
    stopped: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
    runner = LocalRunner()
    if args.image_first:
        runner.register(IMAGE, count)
    server = abaco_emulator.serve(db_path=args.db, runner=runner, port=0, shutdown_grace=args.shutdown_grace)
    server.emulator.register_image(IMAGE, count)
    if dying is not None:
        dying.armed = True  # the snapshot written at start-up does not count
    print(f"ready {server.url}", flush=True)
    while not stopped:
        time.sleep(0.1)
    server.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
