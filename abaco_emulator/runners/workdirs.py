"""The runners' files on the host, and how to tell that the process that made them died.

An execution's files (its results socket, its binary message, the Python support
directory) live in a private temporary directory named after the emulator's process,
so that a later emulator can sweep what a crashed one left; the same pid, with its
start time, labels the Docker runner's containers.
"""
from __future__ import annotations

import os
import shutil
import tempfile

# Runs in the actor's Python (2 or 3) at start-up; must never break an actor.
_SITECUSTOMIZE = """\
# Put first on PYTHONPATH by abaco-emulator: patch agavepy, when the actor imports it, so
# that it reaches the emulator's plain-HTTP server (and, outside a container, the binary
# message and results socket the local runner names); then run the actor's own
# sitecustomize, if any.
import os
import sys
try:
    import abaco_emulator_agave
    abaco_emulator_agave.patch_agavepy_on_import()
except Exception:
    pass
try:
    import importlib.machinery
    import importlib.util
    _here = os.path.dirname(os.path.abspath(__file__))
    _rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    _spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
    if _spec is not None and _spec.loader is not None:
        _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
except Exception:
    pass
"""


def process_start(pid: int) -> str:
    """When process `pid` started (Linux clock ticks), to tell it from a later reuse of its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_alive(pid: int, started: str = "") -> bool:
    """Whether process `pid` runs, and (given its `process_start`) is still the one that started then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but someone else's
    except OSError:
        return False
    return not started or not process_start(pid) or process_start(pid) == started


def make_workdir(prefix: str) -> str:
    """A private temporary directory named `<prefix><pid>-...`, so that the directories
    of a process that died can be found and swept (`sweep_dead_workdirs`)."""
    directory = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    os.chmod(directory, 0o755)  # the actor may run as another user
    return directory


def write_python_support(directory: str) -> str:
    """Fill `directory` with what goes first on an actor's PYTHONPATH, so that agavepy's
    helpers work against the emulator unchanged (agave.py's patches, applied from a
    sitecustomize that then runs the actor's own); returns `directory`."""
    from .. import agave

    shutil.copyfile(agave.__file__, os.path.join(directory, "abaco_emulator_agave.py"))
    with open(os.path.join(directory, "sitecustomize.py"), "w", encoding="utf-8") as handle:
        handle.write(_SITECUSTOMIZE)
    for name in os.listdir(directory):
        os.chmod(os.path.join(directory, name), 0o644)  # the actor may run as another user
    return directory


def sweep_dead_workdirs(prefix: str) -> None:
    """Remove the temporary directories `make_workdir(prefix)` made in processes that died."""
    base = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(base) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        try:
            pid = int(name[len(prefix):].split("-", 1)[0])
        except ValueError:
            continue
        if not process_alive(pid):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
