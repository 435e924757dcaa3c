"""textstats: drives the word-count and counter actors through any agavepy-like client.

Every function takes `ag`: a real `agavepy.agave.Agave` (Abaco, or the emulator over
HTTP) or an in-process `abaco_emulator.AbacoEmulator`. Only calls that the real
service has are used, so the same code runs against either.
"""
from __future__ import annotations

import json
import time
from typing import Any, Iterable

FINISHED = ("COMPLETE", "ERROR")


class ActorFailed(RuntimeError):
    """An execution ended without success; carries its logs, which say why."""


def register(ag: Any, image: str, *, name: str, stateful: bool = False) -> str:
    """Register an actor of `image`; its id. Messages may be sent at once: they queue."""
    actor = ag.actors.add(body={"image": image, "name": name, "stateless": not stateful})
    return actor.id


def wait_for_execution(ag: Any, actor_id: str, execution_id: str, *, timeout: float = 120,
                       interval: float = 0.25) -> Any:
    """Poll getExecution until the execution has finished (the real client has no wait call)."""
    deadline = time.monotonic() + timeout
    while True:
        execution = ag.actors.getExecution(actorId=actor_id, executionId=execution_id)
        if execution.status in FINISHED:
            if execution.status != "COMPLETE" or execution.exitCode != 0:
                logs = ag.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs
                raise ActorFailed(f"execution {execution_id} ended {execution.status} with exit code "
                                  f"{execution.exitCode}; logs:\n{logs}")
            return execution
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_id} still {execution.status} after {timeout} s")
        time.sleep(interval)


def send_all(ag: Any, actor_id: str, messages: Iterable[str]) -> list[str]:
    """Send every message (each one is queued at once); the execution ids, in order."""
    return [ag.actors.sendMessage(actorId=actor_id, body={"message": m}).executionId for m in messages]


def count_words(ag: Any, actor_id: str, texts: Iterable[str]) -> list[dict[str, int]]:
    """The word counts of each text, read from the word-count actor's results."""
    counts = []
    for execution_id in send_all(ag, actor_id, texts):
        wait_for_execution(ag, actor_id, execution_id)
        # The first (here the only) result the execution sent; `.content` is its bytes.
        result = ag.actors.getOneExecutionResult(actorId=actor_id, executionId=execution_id)
        counts.append(json.loads(result.content))
    return counts


def tally(ag: Any, actor_id: str, messages: Iterable[str]) -> Any:
    """Send messages to the counter actor; its state once every one has run."""
    for execution_id in send_all(ag, actor_id, messages):
        wait_for_execution(ag, actor_id, execution_id)
    return ag.actors.getState(actorId=actor_id).state


def report(ag: Any, wordcount_image: str, counter_image: str, texts: list[str]) -> dict[str, Any]:
    """The whole job: register both actors, count the words of `texts`, tally them, clean up."""
    words = register(ag, wordcount_image, name="textstats-wordcount")
    counter = register(ag, counter_image, name="textstats-counter", stateful=True)
    try:
        return {"counts": count_words(ag, words, texts), "state": tally(ag, counter, texts)}
    finally:
        for actor_id in (words, counter):
            ag.actors.delete(actorId=actor_id)
