"""What the router sees at each decision point, gathered into arrays.

A decision point is one (instrument, bar ``t``) that has a chart. The router's
inputs there are the chart image (bars ``t-W+1..t``), the text view of the same
window, and the long-term temporal feature sequence (rows ``<= t`` of the
normalised ``features`` table). Its targets are the regime label and the
experts' soft targets, both forward-looking and used for fitting only.

:class:`RouterInputs` keeps all of that for ``N`` decision points in one row
order, so that every backend reads the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

# The one definition of each order: regime_id i is REGIMES[i]; the routing
# weights w_k and the soft targets p_k follow EXPERTS.
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES

SOFT_TARGET_COLUMNS: list[str] = [f"p_{expert}" for expert in EXPERTS]
KEY_COLUMNS: list[str] = ["instrument", "timestamp", "segment"]


def state_column_names(state_dim: int) -> list[str]:
    """``z_00, z_01, ...``: the router state's columns (the RL observation's
    first components), two digits at least."""
    width = max(2, len(str(state_dim - 1)))
    return [f"z_{i:0{width}d}" for i in range(state_dim)]


@dataclass
class RouterInputs:
    """The router's inputs and targets for ``N`` decision points.

    Attributes:
        keys: ``N`` rows of instrument, timestamp, segment.
        temporal: ``(N, L, F)`` float32, the temporal feature sequence, oldest first.
        text_ids: ``(N,)`` int64 index into ``texts`` / ``text_embeddings``.
        texts: the distinct text views (``U`` strings).
        text_embeddings: ``(U, D)`` float32 frozen text-tower embeddings, or None.
        charts: ``(N, 3, H, W)`` uint8 chart images, or None.
        chart_features: ``(N, C, h, w)`` float32 output of the frozen image
            trunk (a cache of ``charts``), or None.
        regime_id: ``(N,)`` int64 index into :data:`REGIMES`, -1 = no label.
        soft_targets: ``(N, 4)`` float32 expert soft targets, NaN = none.
    """

    keys: pd.DataFrame
    temporal: np.ndarray
    text_ids: np.ndarray
    texts: list[str]
    text_embeddings: np.ndarray | None = None
    charts: np.ndarray | None = None
    chart_features: np.ndarray | None = None
    regime_id: np.ndarray | None = None
    soft_targets: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.keys)
        if self.regime_id is None:
            self.regime_id = np.full(n, -1, dtype=np.int64)
        if self.soft_targets is None:
            self.soft_targets = np.full((n, len(EXPERTS)), np.nan, dtype=np.float32)
        for name in (
            "temporal",
            "text_ids",
            "charts",
            "chart_features",
            "regime_id",
            "soft_targets",
        ):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(
                    f"RouterInputs.{name} has {len(value)} rows, keys have {n}"
                )
        if len(self.text_ids) and (
            self.text_ids.min() < 0 or self.text_ids.max() >= len(self.texts)
        ):
            raise ValueError(f"RouterInputs.text_ids outside 0..{len(self.texts) - 1}")

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, rows: np.ndarray | Sequence[int]) -> RouterInputs:
        """The decision points at positions ``rows`` (texts stay shared)."""
        rows = np.asarray(rows, dtype=np.int64)

        def take(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[rows]

        return replace(
            self,
            keys=self.keys.iloc[rows].reset_index(drop=True),
            temporal=self.temporal[rows],
            text_ids=self.text_ids[rows],
            charts=take(self.charts),
            chart_features=take(self.chart_features),
            regime_id=self.regime_id[rows],
            soft_targets=self.soft_targets[rows],
        )

    def segment_rows(self, segment: str) -> np.ndarray:
        """Positions of the decision points in ``segment``."""
        return np.flatnonzero(self.keys["segment"].to_numpy() == segment)


def _require_columns(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks columns {missing}; it has {list(table.columns)}"
        )


def _merge_one_to_one(
    left: pd.DataFrame, right: pd.DataFrame, columns: Sequence[str], name: str
) -> pd.DataFrame:
    """Left-join ``right[columns]`` on (instrument, timestamp); every left row
    must find exactly one right row."""
    keys = ["instrument", "timestamp"]
    _require_columns(right, [*keys, *columns], name)
    duplicated = right.duplicated(keys)
    if duplicated.any():
        row = right.loc[duplicated].iloc[0]
        raise ValueError(
            f"{name} has two rows for instrument '{row['instrument']}' at {row['timestamp']}"
        )
    merged = left.merge(right[[*keys, *columns]], on=keys, how="left", indicator=True)
    missing = merged["_merge"] != "both"
    if missing.any():
        row = merged.loc[missing].iloc[0]
        raise ValueError(
            f"{name} has no row for decision point instrument '{row['instrument']}' "
            f"at {row['timestamp']} (column {columns[0]!r})"
        )
    return merged.drop(columns="_merge")


def decision_point_table(
    chart_index: pd.DataFrame,
    text_view: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_soft_targets: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join the router's inputs and targets on the decision points of ``chart_index``.

    Args:
        chart_index: one row per chart: instrument, timestamp, t, segment, shard,
            row_in_shard (the decision points, in chart order).
        text_view: instrument, timestamp, text.
        regimes: instrument, timestamp, regime_id (-1 where the horizon is incomplete).
        expert_soft_targets: instrument, timestamp, p_trend, p_reversal,
            p_breakout, p_positioning (NaN where the horizon is incomplete).

    Returns:
        ``(decision_points, texts)``: decision_points has instrument, timestamp,
        t, segment, shard, row_in_shard, text_id, regime_id and the soft-target
        columns, in chart_index order; texts has text_id, text with one row per
        distinct text view (so the frozen text tower embeds each once).
    """
    columns = ["instrument", "timestamp", "t", "segment", "shard", "row_in_shard"]
    _require_columns(chart_index, columns, "chart_index")
    points = chart_index[columns].reset_index(drop=True)
    points = _merge_one_to_one(points, text_view, ["text"], "text_view")
    # the persistence rule's prediction rides along for the evaluation only
    extra = [c for c in ("persistence_id",) if c in regimes.columns]
    points = _merge_one_to_one(points, regimes, ["regime_id", *extra], "regimes")
    points = _merge_one_to_one(
        points, expert_soft_targets, SOFT_TARGET_COLUMNS, "expert_soft_targets"
    )
    labels = points["regime_id"].to_numpy()
    bad = ~np.isin(labels, np.arange(-1, len(REGIMES)))
    if bad.any():
        row = points.loc[bad].iloc[0]
        raise ValueError(
            f"regimes: regime_id {row['regime_id']} for instrument '{row['instrument']}' "
            f"at {row['timestamp']} is not -1 or 0..{len(REGIMES) - 1}"
        )
    text_codes, distinct_texts = pd.factorize(points["text"], sort=False)
    points = points.drop(columns="text")
    points.insert(6, "text_id", text_codes.astype(np.int64))
    points["regime_id"] = points["regime_id"].astype(np.int64)
    points[SOFT_TARGET_COLUMNS] = points[SOFT_TARGET_COLUMNS].astype(np.float32)
    return points, _text_table(distinct_texts)


def _text_table(distinct_texts: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(
        {"text_id": np.arange(len(distinct_texts)), "text": list(distinct_texts)}
    )


def chart_texts(chart_index: pd.DataFrame, text_view: pd.DataFrame) -> pd.DataFrame:
    """The distinct text views of every charted decision point (``text_id``,
    ``text``), numbered in chart order as :func:`decision_point_table` numbers
    them: the walk-forward folds embed them once and pick their own."""
    _require_columns(chart_index, ["instrument", "timestamp"], "chart_index")
    points = chart_index[["instrument", "timestamp"]].reset_index(drop=True)
    points = _merge_one_to_one(points, text_view, ["text"], "text_view")
    return _text_table(pd.factorize(points["text"], sort=False)[1])


def pick_text_embeddings(
    embeddings: np.ndarray, shared_texts: pd.DataFrame, texts: pd.DataFrame
) -> np.ndarray:
    """Rows of ``embeddings`` (one per ``shared_texts`` row, by ``text_id``) for
    the texts of ``texts``, in its ``text_id`` order."""
    row_of = pd.Series(
        shared_texts["text_id"].to_numpy(), index=shared_texts["text"].to_numpy()
    )
    if row_of.index.has_duplicates:
        raise ValueError("shared router texts hold the same text twice")
    ordered = texts.sort_values("text_id")["text"]
    rows = row_of.reindex(ordered.to_numpy())
    if rows.isna().any():
        missing = ordered[rows.isna().to_numpy()].iloc[0]
        raise ValueError(
            f"text view {missing[:60]!r} has no shared embedding: rerun "
            "embed_distinct_text_views (kedro run --pipelines walk_forward)"
        )
    return embeddings[rows.to_numpy(dtype=np.int64)]


def strided_sequences(
    gather_rows,
    instruments: np.ndarray,
    t: np.ndarray,
    steps: int,
    stride: int,
    chunk: int = 4096,
) -> np.ndarray:
    """Temporal sequences of ``steps`` rows, ``stride`` bars apart, ending at ``t``.

    Args:
        gather_rows: ``gather_rows(instruments, t, length) -> (values, mask)``
            returning rows ``t-length+1..t`` (e.g.
            ``mm_drex.features.sequence.FeatureSequences.gather``).
        instruments, t: the decision points.
        steps, stride: the sequence covers the last ``(steps-1)*stride+1`` bars.

    Returns:
        ``(N, steps, F)`` float32, oldest first; the last row is bar ``t``.
    """
    if steps < 1 or stride < 1:
        raise ValueError(
            f"temporal steps and stride must be >= 1, got {steps}, {stride}"
        )
    length = (steps - 1) * stride + 1
    pick = np.arange(0, length, stride)
    parts = []
    for start in range(0, len(t), chunk):
        values, _ = gather_rows(
            instruments[start : start + chunk], t[start : start + chunk], length
        )
        parts.append(np.ascontiguousarray(values[:, pick], dtype=np.float32))
    if not parts:
        return np.zeros((0, steps, 0), dtype=np.float32)
    return np.concatenate(parts)


def training_rows(
    inputs: RouterInputs, segment: str, max_samples: int | None, seed: int
) -> np.ndarray:
    """Positions of the decision points used for fitting: rows of ``segment``
    with a regime label, at most ``max_samples`` of them drawn without
    replacement with ``seed`` (sorted, so the draw does not reorder time)."""
    rows = np.flatnonzero(
        (inputs.keys["segment"].to_numpy() == segment) & (inputs.regime_id >= 0)
    )
    if max_samples is not None and len(rows) > max_samples:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, size=max_samples, replace=False))
    return rows
