"""`abaco-emulator demo`: the command line of `abaco_emulator.demo`, which holds the demo itself."""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runner", choices=("docker", "local"), default=None,
                        help="how executions run (default: docker when an engine answers, else local)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the executions")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ..errors import EmulatorError

    try:
        run_demo(args.runner, timeout=args.timeout)
    except EmulatorError as exc:
        print(f"abaco-emulator demo: {exc}", file=sys.stderr)
        return 1
    return 0
