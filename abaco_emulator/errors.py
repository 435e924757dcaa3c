"""One exception hierarchy for the whole package.

`AbacoError` and its subclasses are answers of the Abaco API: each carries the HTTP
status the real service sends, so every transport renders it the same way (the HTTP
app as the error envelope, the in-process facade as the `requests.HTTPError` that
agavepy would raise). The other subclasses of `EmulatorError` are problems of the
emulator itself (no Docker daemon, a wait that timed out).
"""
from __future__ import annotations


class EmulatorError(Exception):
    """Base class of every exception abaco-emulator raises on purpose."""


class AbacoError(EmulatorError):
    """An error answer of the Abaco API, with the status code the real service uses."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequest(AbacoError):
    """Validation errors, and (as in Abaco) permission and "does not exist" errors."""


class InvalidBody(BadRequest):
    """A JSON body its schema refuses: `details` says what is wrong with which fields, and
    `field` is the first wrong top-level one as the schema spells it (camelCase), so that
    a dialect can name it as reqparse would."""

    def __init__(self, what: str, details: str, field: str | None = None) -> None:
        super().__init__(f"Invalid {what}: {details}.")
        self.details = details
        self.field = field


class PermissionDenied(BadRequest):
    """The caller lacks the permission level the operation needs (HTTP 400 in Abaco)."""


class NotFound(AbacoError):
    """An unknown alias, worker or non-id identifier."""

    status_code = 404


class ShuttingDown(AbacoError):
    """The emulator is stopping: it accepts no new message (running ones may finish)."""

    status_code = 503


class Unauthorized(AbacoError):
    """No valid credentials on a server that requires them."""

    status_code = 401


class DockerUnavailable(EmulatorError):
    """The Docker runner was asked for but no Docker daemon answers."""


class ImageUnavailable(EmulatorError):
    """An actor's image is not present and may not (or cannot) be pulled."""


class PrivilegedRefused(EmulatorError):
    """A privileged actor on an emulator that does not run privileged containers."""


class RunnerFailure(EmulatorError):
    """The runner itself failed to run an execution (not the actor's own failure).

    `logs` holds what the actor wrote before the failure, so it is not lost.
    """

    def __init__(self, message: str, logs: str = "") -> None:
        super().__init__(message)
        self.logs = logs


class RunnerUnavailable(RunnerFailure):
    """The runner cannot start executions now (the Docker daemon is away); nothing ran,
    so the message waits for it instead of failing."""


class StoreError(EmulatorError):
    """The database file (`db_path`) cannot be used."""


class StoreCorrupt(StoreError):
    """The database file cannot be read back."""


class StoreLocked(StoreError):
    """Another emulator (in this or another process) has the database file open."""


class ConfigKeyInvalid(EmulatorError):
    """The key that seals secret actor configs (`config_key`, `serve --config-key`, the
    store's key file) is not a Fernet key."""


class ExecutionTimeout(EmulatorError, TimeoutError):
    """`wait_for_execution` or `drain` ran out of time."""
