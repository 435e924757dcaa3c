"""Secret actor config values at rest: sealed with Fernet, one key per store.

Abaco encrypts a secret config's value with Fernet (`cryptography`) under the key of its
deployment, shows the token, and decrypts it only into the environment of an execution.
The emulator does the same with a key of its own per store:

* a `config_key` given to the emulator (`serve --config-key`) is used and kept nowhere;
* otherwise a store with a file (`db_path`) has its key in `<db_path>.config-key` beside
  it (created on first open, mode 0600), so the database file alone never reveals a
  secret and a reopened store can still decrypt what it sealed;
* an in-memory store gets a fresh key that lives as long as the emulator.
"""
from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken

from .errors import ConfigKeyInvalid

KEY_FILE_SUFFIX = ".config-key"


class Sealer:
    """Seals and opens secret values with one Fernet key."""

    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii") if isinstance(key, str) else key)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise ConfigKeyInvalid("the config key must be a Fernet key: 32 bytes, URL-safe base64-encoded "
                                   "(python -c 'from cryptography.fernet import Fernet; "
                                   "print(Fernet.generate_key().decode())')") from None

    def seal(self, value: str) -> str:
        """The token Abaco stores and shows for a secret value (any str: a lone surrogate,
        which JSON text may carry, is kept as it came)."""
        return self._fernet.encrypt(value.encode("utf-8", "surrogatepass")).decode("ascii")

    def open(self, token: str) -> str | None:
        """The value a token seals, or None when this key did not seal it."""
        try:
            return self._fernet.decrypt(token.encode("utf-8")).decode("utf-8", "surrogatepass")
        except (InvalidToken, UnicodeError, TypeError, ValueError):
            return None


def key_file(db_path: str) -> str:
    return db_path + KEY_FILE_SUFFIX


def sealer_for(db_path: str | None, config_key: str | bytes | None = None) -> Sealer:
    """The sealer of a store: the given key, the key file beside the store, or a fresh key."""
    if config_key is not None:
        return Sealer(config_key)
    if db_path is None:
        return Sealer(Fernet.generate_key())
    path = key_file(db_path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, "rb") as handle:
            stored = handle.read().strip()
        try:
            return Sealer(stored)
        except ConfigKeyInvalid as exc:
            raise ConfigKeyInvalid(f"{path}: {exc}") from None
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return Sealer(key)
