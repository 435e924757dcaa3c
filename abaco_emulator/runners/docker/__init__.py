"""The Docker runner: every execution is a fresh container of the actor's image.

It honours Abaco's container contract (ABACO_REFERENCE.md section 4) through the
Docker SDK (never the docker CLI):

- the environment of the execution, as the engine built it;
- a binary message as a read-only regular file at `/_abaco_binary_data`;
- results as datagrams on a Unix socket bound on the host and mounted at
  `/_abaco_results.sock`, one datagram one result, in order;
- stdout and stderr, interleaved as written, as the execution's log;
- `runtime`, `cpu`, `io`, the exit code and Docker's `State` as its statistics;
- a read-only directory at `/_abaco_emulator` on the container's PYTHONPATH whose
  `sitecustomize` patches agavepy when the actor imports it, so that an actor calling
  back (`get_client()`, `update_state()`) reaches the emulator's plain-HTTP server.

One concern a module:

- `runner.py`: `DockerRunner`, an execution's container from creation to its outcome;
- `streams.py`: what is read from a running container (its output, its statistics);
- `images.py`: the pull policy, and what the runner remembers of an image;
- `hygiene.py`: the labels on every container, and removing them so none is left behind;
- `daemon.py`: connecting to the Docker engine, and saying why none answers.

Importing this package does not import the Docker SDK: the local runner needs no Docker.
"""
from .daemon import docker_problem
from .hygiene import LABEL_INSTANCE, LABEL_PID
from .runner import DockerRunner

__all__ = ["DockerRunner", "docker_problem", "LABEL_INSTANCE", "LABEL_PID"]
