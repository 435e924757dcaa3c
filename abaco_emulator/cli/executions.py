"""`abaco-emulator executions`: list an actor's executions, or show one."""
from __future__ import annotations

import argparse

from ..table import print_table
from .output import cell, print_json, print_record, short_time
from .target import Actors, add_target_arguments, describe, everyday, option

_EXECUTION_KEYS = ("id", "actorId", "status", "exitCode", "runtime", "executor", "messageReceivedTime",
                   "startTime", "finishTime", "cpu", "io", "workerId")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    describe(parser)
    parser.add_argument("actor", metavar="ACTOR", help="actor id or alias")
    parser.add_argument("execution", metavar="EXECUTION", nargs="?", help="show this execution in full")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (default: 100)")
    add_target_arguments(parser)


@everyday
def run(args: argparse.Namespace, actors: Actors) -> int:
    if args.execution:
        execution = actors.getExecution(actorId=args.actor, executionId=args.execution)
        if option(args, "json"):
            print_json(execution)
        else:
            print_record(execution, _EXECUTION_KEYS)
        return 0
    summary = actors.listExecutions(actorId=args.actor)  # with a query parameter it would be a search
    if option(args, "json"):
        print_json(summary)
        return 0
    executions = (summary.get("executions") or [])[:args.limit]
    if executions:
        print_table(["ID", "STATUS", "RECEIVED", "STARTED", "FINISHED"],
                     [[e.get("id", ""), e.get("status", ""), short_time(e.get("messageReceivedTime")),
                       short_time(e.get("startTime")), short_time(e.get("finishTime"))] for e in executions])
    print(f"{cell(summary.get('totalExecutions'))} execution(s) of actor {summary.get('actorId', args.actor)}; "
          f"total runtime {cell(summary.get('totalRuntime'))} s, cpu {cell(summary.get('totalCpu'))} ns, "
          f"io {cell(summary.get('totalIo'))} bytes")
    return 0
