"""The four permission levels, ordered, printing as their names (a stand-in only;
test_core.py's test_permission_* compare only these constants, not the emulator)."""
import functools


@functools.total_ordering
class Level:
    def __init__(self, name, rank):
        self.name, self.rank = name, rank

    def __eq__(self, other):
        return isinstance(other, Level) and self.rank == other.rank

    def __lt__(self, other):
        return self.rank < other.rank

    def __hash__(self):
        return self.rank

    def __str__(self):
        return self.name

    __repr__ = __str__


NONE, READ, EXECUTE, UPDATE = (Level(n, r) for r, n in enumerate(("NONE", "READ", "EXECUTE", "UPDATE")))
