"""Markdown tables: the one helper every report uses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

RULES = {"l": "---", "r": "---:"}


def markdown_table(
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    align: str | None = None,
) -> str:
    """A pipe table, one line per row (no trailing newline).

    Args:
        header: the column titles.
        rows: the cells of each row, turned into text with ``str``.
        align: one letter per column, ``l`` (left) or ``r`` (right); shorter
            strings are padded with their last letter. Default: all left.
    """
    header = [str(cell) for cell in header]
    letters = align or "l"
    letters = letters + letters[-1] * (len(header) - len(letters))
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(RULES[letter] for letter in letters[: len(header)]) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
