"""The same orchestration code run in process and through the real agavepy client over HTTP.

    python two_ways.py [--base IMAGE]

Builds the actor images, then runs textstats.report() twice against one emulator:
through `AbacoEmulator.actors` in this process, and through agavepy over HTTP. Prints
both reports and exits 1 if they differ.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from abaco_emulator import AbacoEmulator, agave_client, serve

import images
import textstats

TEXTS = ["It was the best of times, it was the worst of times.", "To be, or not to be."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=os.environ.get("ACTOR_BASE_IMAGE", images.DEFAULT_BASE),
                        help="base image of the actors (default: %(default)s)")
    args = parser.parse_args(argv)
    tags = images.build(base=args.base)

    with AbacoEmulator(max_run_time=60) as emulator, serve(emulator=emulator) as server:
        # serve() puts the emulator on http://127.0.0.1:<port> and tells the containers so
        # (_abaco_api_server): the counter actor's update_state() calls back there.
        reports = {
            "in process": textstats.report(emulator, tags["wordcount"], tags["counter"], TEXTS),
            "agavepy over HTTP": textstats.report(agave_client(server.url, server.token),
                                                  tags["wordcount"], tags["counter"], TEXTS),
        }
    for how, report in reports.items():
        print(f"{how}: {json.dumps(report, sort_keys=True)}")
    same = len({json.dumps(r, sort_keys=True) for r in reports.values()}) == 1
    print("identical results" if same else "the results DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
