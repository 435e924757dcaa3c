"""abaco-emulator's benchmark suite: `python -m bench [--quick] [--json FILE]`.

Every figure is a ratio or a rate measured side by side in one run (the machines are
noisy; absolute times are printed only as context). A figure whose subject is not
available on this machine (no Docker engine, no HTTP server module) says why instead
of printing a number. `--quick` uses small sizes so CI can run it on every change.
"""
