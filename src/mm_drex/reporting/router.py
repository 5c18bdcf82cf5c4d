"""The router stage's report: the evaluation table, the router's confusion
matrices (markdown and a figure) and how each row was obtained."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.markdown import markdown_table
from mm_drex.regimes.labels import REGIMES


def _frame_table(table: pd.DataFrame) -> str:
    rows = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        for row in table.to_numpy()
    ]
    return markdown_table(table.columns, rows)


def evaluation_markdown(
    table: pd.DataFrame, confusions: Mapping[str, np.ndarray], notes: Sequence[str]
) -> str:
    """The evaluation report as markdown: the table, the router's confusion
    matrices per segment, and notes on how each row was obtained."""
    parts = ["# Router SFT evaluation", "", _frame_table(table), ""]
    for segment, matrix in confusions.items():
        frame = pd.DataFrame(matrix, columns=[f"pred {r}" for r in REGIMES])
        frame.insert(0, "true", list(REGIMES))
        parts += [
            f"## Confusion matrix, router, {segment}",
            "",
            _frame_table(frame),
            "",
        ]
    parts += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(parts)


def confusion_figure(confusions: Mapping[str, np.ndarray]) -> Figure:
    """A matplotlib figure with one confusion-matrix panel per segment
    (row-normalised colours, counts written in the cells)."""
    figure = Figure(figsize=(4.2 * len(confusions), 3.8))
    axes = figure.subplots(1, len(confusions), squeeze=False)
    for axis, (segment, matrix) in zip(axes[0], confusions.items(), strict=True):
        totals = matrix.sum(axis=1, keepdims=True)
        share = np.divide(
            matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0
        )
        axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                colour = "white" if share[i, j] > 0.5 else "black"
                axis.text(
                    j,
                    i,
                    f"{matrix[i, j]}\n{share[i, j]:.0%}",
                    ha="center",
                    va="center",
                    color=colour,
                )
        axis.set_xticks(range(len(REGIMES)), REGIMES)
        axis.set_yticks(range(len(REGIMES)), REGIMES)
        axis.set_xlabel("predicted regime")
        axis.set_ylabel("true regime")
        axis.set_title(f"router, {segment}")
    figure.tight_layout()
    return figure
