"""Scores of a regime classifier: accuracy, macro-F1, confusion matrix, and
the evaluation report (table, markdown, confusion-matrix figure)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score

from mm_drex.router.data import REGIMES


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (over the three regimes) of labelled rows
    (``y_true >= 0``); NaN when there is none."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    labelled = y_true >= 0
    n = int(labelled.sum())
    if n == 0:
        return {"n": 0, "accuracy": float("nan"), "macro_f1": float("nan")}
    t, p = y_true[labelled], y_pred[labelled]
    return {
        "n": n,
        "accuracy": float((t == p).mean()),
        "macro_f1": float(
            f1_score(
                t, p, labels=list(range(len(REGIMES))), average="macro", zero_division=0
            )
        ),
    }


def regime_confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts ``(3, 3)``: rows = true regime, columns = predicted, labelled rows only."""
    y_true = np.asarray(y_true)
    labelled = y_true >= 0
    return confusion_matrix(
        y_true[labelled], np.asarray(y_pred)[labelled], labels=list(range(len(REGIMES)))
    )


def evaluation_table(
    regime_id: np.ndarray,
    segments: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    evaluated_segments: tuple[str, ...] = ("val", "test"),
) -> pd.DataFrame:
    """One row per (model, segment): n, accuracy, macro_f1.

    Args:
        regime_id: ``(N,)`` true regime ids, -1 = no label.
        segments: ``(N,)`` segment of each decision point.
        predictions: ``{model name: (N,) predicted regime ids}``.
    """
    rows = []
    for model, predicted in predictions.items():
        for segment in evaluated_segments:
            in_segment = segments == segment
            scores = classification_scores(regime_id[in_segment], predicted[in_segment])
            rows.append({"model": model, "segment": segment, **scores})
    return pd.DataFrame(rows, columns=["model", "segment", "n", "accuracy", "macro_f1"])


def _markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    lines = [header, rule]
    for _, row in table.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.to_numpy()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluation_markdown(
    table: pd.DataFrame, confusions: Mapping[str, np.ndarray], notes: list[str]
) -> str:
    """The evaluation report as markdown: the table, the router's confusion
    matrices per segment, and notes on how each row was obtained."""
    parts = ["# Router SFT evaluation", "", _markdown_table(table), ""]
    for segment, matrix in confusions.items():
        frame = pd.DataFrame(matrix, columns=[f"pred {r}" for r in REGIMES])
        frame.insert(0, "true", list(REGIMES))
        parts += [
            f"## Confusion matrix, router, {segment}",
            "",
            _markdown_table(frame),
            "",
        ]
    parts += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(parts)


def confusion_figure(confusions: Mapping[str, np.ndarray]):
    """A matplotlib figure with one confusion-matrix panel per segment
    (row-normalised colours, counts written in the cells)."""
    from matplotlib.figure import Figure

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
