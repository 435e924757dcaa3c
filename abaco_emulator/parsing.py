"""One lock for Python source parsing across the emulator's threads.

CPython 3.11's AST constructor is not thread-safe (gh-106905: "AST constructor recursion
depth mismatch" when two threads parse at once). The emulator parses in several threads:
the local runner reads each message with `ast.literal_eval`, and werkzeug compiles each
URL rule with `ast` when an app (a served or a private API) is built while workers run.
Both take `AST_LOCK`.
"""
from __future__ import annotations

import threading

AST_LOCK = threading.Lock()
