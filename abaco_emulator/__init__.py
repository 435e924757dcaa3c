"""abaco-emulator: TACC's Abaco actors service, reproduced on one machine."""
from .attrdict import AttrDict
from .emulator import AbacoEmulator, UserView
from .errors import (AbacoError, BadRequest, DockerUnavailable, EmulatorError, ExecutionTimeout,
                     ImageUnavailable, NotFound, PermissionDenied)

__all__ = [
    "AbacoEmulator", "UserView", "AttrDict", "EmulatorError", "AbacoError", "BadRequest", "NotFound",
    "PermissionDenied", "DockerUnavailable", "ImageUnavailable", "ExecutionTimeout",
]
