"""Per-expert soft targets for the router, stored beside the regime labels.

For a decision at bar ``t`` and expert ``k``, the forward after-cost
risk-adjusted return over the label horizon ``H`` is the mean-variance
utility (per horizon) of the expert's own sleeve over bars ``t+1 .. t+H``::

    utility_k(t) = H * (mean(r_k) - risk_aversion / 2 * var(r_k))

where ``r_k`` are the net returns of a sleeve holding the expert's exposure
(:mod:`mm_drex.experts.evaluation`, the backtest engine's accounting). The
target distribution over the experts is ``softmax(utility / temperature)``.
It is NaN where the regime label is (horizon incomplete, crossing a split
boundary, purge bar) and outside the train and val segments: the router never
trains on test targets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from mm_drex.data.calendar import per_instrument
from mm_drex.experts.evaluation import net_returns
from mm_drex.experts.history import InstrumentHistory
from mm_drex.experts.templates import EXPERTS

TARGET_SEGMENTS = ("train", "val")


def forward_utility(
    returns: np.ndarray, horizon: int, risk_aversion: float
) -> np.ndarray:
    """``H * (mean - risk_aversion / 2 * var)`` of ``returns[t+1 .. t+H]`` per ``t``.

    NaN where the window runs past the last bar.
    """
    returns = np.asarray(returns, dtype=np.float64)
    out = np.full(len(returns), np.nan)
    n_windows = len(returns) - horizon
    if n_windows <= 0 or horizon < 2:
        return out
    windows = sliding_window_view(returns[1:], horizon)[:n_windows]
    mean = windows.mean(axis=1)
    variance = windows.var(axis=1, ddof=1)
    out[:n_windows] = horizon * (mean - 0.5 * risk_aversion * variance)
    return out


def expert_soft_targets(
    histories: Sequence[InstrumentHistory],
    exposures: pd.DataFrame,
    horizon: int | Mapping[str, int],
    risk_aversion: float,
    temperature: float,
    experts: Sequence[str] = EXPERTS,
) -> pd.DataFrame:
    """``expert_soft_targets``: one row per bar of each instrument.

    Args:
        histories: the instruments (bars, segments, labels).
        exposures: ``expert_exposures`` (instrument, t, expert, exposure).
        horizon: the label horizon ``H`` in bars (one, or one per instrument).
        risk_aversion: of the utility; temperature: of the softmax (> 0).

    Returns:
        ``instrument, timestamp, t, segment, utility_<expert>..., p_<expert>...``;
        the ``p_`` columns sum to 1 where defined, all NaN elsewhere.
    """
    if not temperature > 0:
        raise ValueError(
            f"experts.soft_targets.temperature must be > 0, got {temperature}"
        )
    frames = []
    for history in histories:
        bars_ahead = per_instrument(horizon, history.instrument, "labeling.horizon")
        if bars_ahead < 2:
            raise ValueError(
                f"the soft-target horizon must be >= 2 bars, got {bars_ahead} "
                f"for instrument '{history.instrument}' (labeling.horizon)"
            )
        rows = exposures[exposures["instrument"] == history.instrument]
        valid = history.labelled() & np.isin(history.segment, TARGET_SEGMENTS)
        utilities = np.full((len(history.bars), len(experts)), np.nan)
        for column, expert in enumerate(experts):
            path = (
                rows[rows["expert"] == expert].sort_values("t")["exposure"].to_numpy()
            )
            if len(path) != len(history.bars):
                raise ValueError(
                    f"expert_exposures: instrument {history.instrument}, expert {expert}: "
                    f"{len(path)} rows for {len(history.bars)} bars"
                )
            returns = net_returns(history.bars, path)
            utilities[:, column] = forward_utility(returns, bars_ahead, risk_aversion)
        valid &= ~np.isnan(utilities).any(axis=1)
        utilities[~valid] = np.nan
        logits = utilities / temperature
        # rows are either complete or all NaN; the shift only avoids overflow
        logits -= np.max(np.nan_to_num(logits, nan=0.0), axis=1, keepdims=True)
        weights = np.exp(logits)
        probabilities = weights / weights.sum(axis=1, keepdims=True)
        frame = {
            "instrument": history.instrument,
            "timestamp": history.timestamps,
            "t": np.arange(len(history.bars), dtype=np.int64),
            "segment": history.segment,
        }
        for column, expert in enumerate(experts):
            frame[f"utility_{expert}"] = utilities[:, column]
        for column, expert in enumerate(experts):
            frame[f"p_{expert}"] = probabilities[:, column]
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)
