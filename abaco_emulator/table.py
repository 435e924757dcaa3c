"""Plain-text tables: the one way the CLI and the demo print rows in columns."""
from __future__ import annotations

from typing import Sequence, TextIO


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO | None = None) -> None:
    """Columns aligned to their widest cell, a dashed rule under the headers; to stdout unless `out`."""
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    for number, row in enumerate([headers, *rows]):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
        if number == 0:
            print("  ".join("-" * width for width in widths), file=out)
