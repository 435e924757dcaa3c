"""`abaco-emulator demo`: register an actor, send it three messages, show what happened.

With a Docker engine the actor is a real container image, built once from the host's
statically linked busybox (no registry needed); without one the same actor runs on
the local runner as a Python handler, and the demo says why.
"""
from __future__ import annotations

import io
import itertools
import os
import shutil
import sys
import tarfile
from typing import Any, TextIO

from .emulator import AbacoEmulator
from .errors import EmulatorError
from .models import FINISHED
from .table import print_table
from .waiting import poll

DEMO_IMAGE = "abaco-emulator/demo:1"
_BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")

# The actor, as a shell script: what a real Abaco actor image would run.
_ACTOR_SCRIPT = """#!/bin/sh
echo "actor $_abaco_actor_id (revision $_abaco_actor_revision) got a message of type $_abaco_Content_Type"
if [ -f /_abaco_binary_data ]; then
    echo "binary message of $(wc -c < /_abaco_binary_data) bytes"
else
    echo "MSG=$MSG"
    echo "words: $(echo "$MSG" | wc -w)"
fi
echo "greeting from the environment: $GREETING" >&2
"""

_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY actor.sh /actor.sh
ENTRYPOINT ["/bin/sh", "/actor.sh"]
"""


def _local_actor(ctx: Any) -> bytes:
    """The demo actor for the local runner: the same output as the shell script."""
    print(f"actor {ctx.actor_id} (revision {ctx._abaco_actor_revision}) "
          f"got a message of type {ctx.content_type}")
    if ctx.binary is not None:
        print(f"binary message of {len(ctx.binary)} bytes")
        words = 0
    else:
        print(f"MSG={ctx.raw_message}")
        words = len((ctx.raw_message or "").split())
        print(f"words: {words}")
    print(f"greeting from the environment: {ctx.get('GREETING', '')}", file=sys.stderr)
    return f"words={words}".encode()


def find_busybox() -> str | None:
    """A statically linked busybox on this machine (Debian: busybox-static)."""
    for path in _BUSYBOX_PATHS:
        if os.path.exists(path):
            return path
    found = shutil.which("busybox")
    return found


def build_demo_image(client: Any, busybox: str) -> None:
    """Build the demo image from the host's busybox; nothing is pulled."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data, mode in (("Dockerfile", _DOCKERFILE.encode(), 0o644),
                                 ("actor.sh", _ACTOR_SCRIPT.encode(), 0o755)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        tar.add(busybox, arcname="busybox")
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=DEMO_IMAGE, network_mode="none", rm=True)


def _choose_runner(requested: str | None, out: TextIO) -> str:
    if requested == "local":
        return "local"
    from .runners.docker import docker_problem

    problem = docker_problem()
    if problem:
        if requested == "docker":
            raise EmulatorError(f"the docker runner was asked for but {problem}")
        out.write(f"No Docker engine: {problem}.\nRunning the same demo with the local runner "
                  "(actors as Python handlers).\n\n")
        return "local"
    import docker

    client = docker.from_env()
    try:
        if not client.images.list(name=DEMO_IMAGE):
            busybox = find_busybox()
            if busybox is None:
                if requested == "docker":
                    raise EmulatorError("the demo image needs a static busybox: apt-get install busybox-static")
                out.write("No busybox on this machine to build the demo image from "
                          "(apt-get install busybox-static); using the local runner.\n\n")
                return "local"
            out.write(f"Building the demo image {DEMO_IMAGE} from {busybox} (once)...\n")
            build_demo_image(client, busybox)
    finally:
        client.close()
    return "docker"


def _progress(ag: AbacoEmulator, actor_id: str, execution_ids: list[str], out: TextIO, timeout: float) -> None:
    """Wait for the executions, showing how many are done."""
    spinner = itertools.cycle("|/-\\")
    interactive = out.isatty()
    statuses: list[str] = []

    def finished_line() -> str | None:
        statuses[:] = [ag.actors.getExecution(actorId=actor_id, executionId=e).status for e in execution_ids]
        done = sum(s in FINISHED for s in statuses)
        line = f"waiting for executions: {done}/{len(execution_ids)} finished"
        if interactive:
            out.write(f"\r{next(spinner)} {line}")
            out.flush()
        return line if done == len(execution_ids) else None

    line = poll(finished_line, timeout, 0.1)
    if line is None:
        raise EmulatorError(f"the demo executions did not finish within {timeout} s: {statuses}")
    out.write(("\r" if interactive else "") + f"{line}.   \n\n")


def run_demo(runner: str | None = None, out: TextIO = sys.stdout, timeout: float = 120) -> None:
    """Register an actor, send a string, a JSON object and binary data; print the outcome."""
    chosen = _choose_runner(runner, out)
    with AbacoEmulator(runner=chosen) as ag:
        if chosen == "local":
            ag.register_image(DEMO_IMAGE, _local_actor)
        actor = ag.actors.add(body={"image": DEMO_IMAGE, "name": "demo-greeter",
                                    "defaultEnvironment": {"GREETING": "hello from defaultEnvironment"}})
        out.write(f"Registered actor {actor.id} ({actor.name}) with image {actor.image} "
                  f"on the {chosen} runner.\n")
        messages = [
            ("string", lambda: ag.actors.sendMessage(actorId=actor.id, body={"message": "hello abaco world"})),
            ("JSON", lambda: ag.actors.sendMessage(actorId=actor.id, body={"city": "Austin", "n": 3},
                                                   environment={"GREETING": "hi from the message"})),
            ("binary", lambda: ag.actors.sendBinaryMessage(actorId=actor.id, message=bytes(range(256)) * 4)),
        ]
        sent = [(kind, send().executionId) for kind, send in messages]
        out.write(f"Sent {len(sent)} messages.\n")
        _progress(ag, actor.id, [e for _, e in sent], out, timeout)
        rows = []
        logs = []
        for kind, execution_id in sent:
            ex = ag.actors.getExecution(actorId=actor.id, executionId=execution_id)
            result = ag.actors.getOneExecutionResult(actorId=actor.id, executionId=execution_id).content
            rows.append([kind, ex.id, ex.status, str(ex.get("exitCode", "")), f"{ex.runtime}s",
                         result.decode("utf-8", "replace") or "-"])
            logs.append((kind, ex.id, ag.actors.getExecutionLogs(actorId=actor.id, executionId=ex.id).logs))
        print_table(["message", "execution", "status", "exit", "runtime", "result"], rows, out)
        if all(row[-1] == "-" for row in rows):
            out.write("No results: this busybox actor only writes logs (a shell cannot send a datagram to\n"
                      "/_abaco_results.sock). The word counter in examples/downstream_project returns results.\n")
        for kind, execution_id, text in logs:
            out.write(f"\nLogs of execution {execution_id} ({kind} message):\n")
            out.write("".join(f"  | {line}\n" for line in text.splitlines()))
        summary = ag.actors.listExecutions(actorId=actor.id)
        out.write(f"\n{summary.totalExecutions} executions, total runtime {summary.totalRuntime}s.\n")
    if chosen == "docker":
        out.write("The emulator is closed and every container it started is removed.\n")
