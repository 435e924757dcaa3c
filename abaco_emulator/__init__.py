"""abaco-emulator: TACC's Abaco actors service, reproduced on one machine."""
from typing import Any

# The one place the version is written: pyproject.toml reads it (tool.setuptools.dynamic),
# `abaco-emulator --version` prints it.
__version__ = "0.1.0"

from .agave import agave_client, patch_agavepy
from .attrdict import AttrDict
from .auth import tapis_token
from .emulator import AbacoEmulator, UserView
from .errors import (AbacoError, BadRequest, DockerUnavailable, EmulatorError, ExecutionTimeout,
                     ImageUnavailable, NotFound, PermissionDenied)

__all__ = [
    "AbacoEmulator", "UserView", "AttrDict", "EmulatorError", "AbacoError", "BadRequest", "NotFound",
    "PermissionDenied", "DockerUnavailable", "ImageUnavailable", "ExecutionTimeout",
    "agave_client", "patch_agavepy", "serve", "tapis_token", "tapis_client", "__version__",
]


def __getattr__(name: str) -> Any:
    """`serve` is imported on first use, so importing the package does not load Flask."""
    if name == "serve":
        from .server import serve

        return serve
    if name == "tapis_client":  # tapipy is imported only by a call of it
        from .tapipy_client import tapis_client

        return tapis_client
    raise AttributeError(f"module 'abaco_emulator' has no attribute {name!r}")
