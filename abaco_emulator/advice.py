"""What an error advises, in the words of where the user is: Python, the CLI or pytest.

"Create the emulator with pull='missing'" helps a Python user and no one at a shell
prompt; there it is `--pull missing`, and under pytest `--abaco-pull missing`. The
transports say which context they serve (`AbacoEmulator(advice="cli")`: `serve`, `exec`
and `--db` commands; "pytest": the plugin's fixtures); the runners phrase their advice
through it.
"""
from __future__ import annotations

from dataclasses import dataclass

CONTEXTS = ("python", "cli", "pytest")

_PHRASES: dict[str, dict[str, str]] = {
    # how to have the Docker runner pull a missing image
    "pull_missing": {
        "python": "create the emulator with pull='missing'",
        "cli": "start it with --pull missing",
        "pytest": "run pytest with --abaco-pull missing (ini: abaco_pull = missing)",
    },
    # how to work without Docker
    "local_runner": {
        "python": "use AbacoEmulator(runner='local')",
        "cli": "use --runner local",
        "pytest": "run pytest with --abaco-runner local (ini: abaco_runner = local)",
    },
    # how to tell the local runner what an image runs
    "register_image": {
        "python": "call register_image({image!r}, handler) or register_image({image!r}, command=[...])",
        "cli": "start the emulator with --runner local --local-command '{image}=COMMAND'",
        "pytest": "call abaco.register_image({image!r}, handler) (or command=[...]) in the test",
    },
}


@dataclass(frozen=True)
class Advice:
    """The phrases of one context."""

    context: str = "python"

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise ValueError(f"advice must be one of {', '.join(CONTEXTS)}, not {self.context!r}")

    def say(self, key: str, **fields: str) -> str:
        return _PHRASES[key][self.context].format(**fields)


PYTHON = Advice("python")
