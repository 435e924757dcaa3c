"""Stand-in for the real service's `actors` package: tests/test_core.py imports
`actors.codes` for its permission levels (server code an emulator does not have)."""
