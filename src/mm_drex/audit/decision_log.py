"""The decision log: one row per (instrument, decision bar t) of MM-DREX.

A row joins what was known at the close of ``t`` (chart hash, regime
probabilities, SFT and final weights, each expert's exposure, main regime
pool and driving pool member, the mixed exposure ``h_raw``), what the
projection did to it, and what happened at the open of ``t+1`` when it was
executed by the backtest engine (the signed order, the executed exposure,
turnover, cost) and over bar ``t+1`` (net return, NAV at its close).

``order`` is the signed traded notional as a fraction of the pre-trade NAV:
``x_t+1·(1 − cost) − e_d`` with ``e_d`` the exposure held just before the
trade (the previous exposure drifted with the price, the engine's
:func:`~mm_drex.backtest.engine.drifted_exposure`), so ``|order| =
turnover``. The last decision of a segment is never executed: its execution
columns are NaN (as in the engine).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_drex.backtest.engine import drifted_exposure
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES

DECISION_COLUMNS = [
    "instrument",
    "timestamp",
    "t",
    "segment",
    "strategy",
    "seed",
    "chart_sha256",
    *[f"p_{r}" for r in REGIMES],
    "regime_pred",
    *[f"w_sft_{e}" for e in EXPERTS],
    *[f"w_{e}" for e in EXPERTS],
    *[f"exposure_{e}" for e in EXPERTS],
    *[f"pool_{e}" for e in EXPERTS],
    *[f"member_{e}" for e in EXPERTS],
    "exposure_scale",
    "mixed_exposure",
    "delta_bounds",
    "delta_leverage",
    "delta_turnover",
    "projected_exposure",
]
EXECUTION_COLUMNS = [
    "execution_timestamp",
    "pre_trade_exposure",
    "order",
    "executed_exposure",
    "turnover",
    "cost",
    "net_return",
    "nav",
    "reward",
]
DECISION_LOG_COLUMNS = [*DECISION_COLUMNS, *EXECUTION_COLUMNS]
KEYS = ["instrument", "timestamp"]


def decision_log(
    panel: pd.DataFrame,
    routing: pd.DataFrame,
    positions: pd.DataFrame,
    strategy: str,
    seed: int,
) -> pd.DataFrame:
    """The decision log of one (strategy, seed) on the positions' segment.

    Args:
        panel: the RL panel (:func:`mm_drex.rl.panel.build_panel`).
        routing: :func:`mm_drex.strategy.mmdrex.routing_table` output.
        positions: the engine's positions (``run_backtest``) for the segment.

    Returns:
        One row per (instrument, bar) of the positions, columns
        :data:`DECISION_LOG_COLUMNS`.
    """
    sleeve = positions[
        (positions["strategy"] == strategy) & (positions["seed"] == seed)
    ]
    if sleeve.empty:
        raise ValueError(
            f"decision log: no positions for strategy {strategy}, seed {seed}"
        )
    route = routing[(routing["strategy"] == strategy) & (routing["seed"] == seed)]
    route = route.drop(columns=["strategy", "seed", "segment"])
    known = panel[
        [
            *KEYS,
            "t",
            "segment",
            "chart_sha256",
            "r_co",
            "r_oc",
            *[f"p_{r}" for r in REGIMES],
            *[f"w_sft_{e}" for e in EXPERTS],
            *[f"member_{e}" for e in EXPERTS],
        ]
    ]
    log = sleeve.merge(known, on=KEYS, how="left", validate="one_to_one")
    log = log.merge(route, on=KEYS, how="left", validate="one_to_one")
    missing = log["mixed_exposure"].isna() | log["t"].isna()
    if missing.any():
        row = log[missing].iloc[0]
        raise ValueError(
            f"decision log: instrument {row['instrument']}, timestamp {row['timestamp']}: "
            "no routing or panel row for this position"
        )
    if not np.allclose(log["mixed_exposure"], log["target_exposure"]):
        raise ValueError(
            "decision log: the routing's mixed exposure is not the executed target"
        )
    log["regime_pred"] = np.asarray(REGIMES, dtype=object)[
        log[[f"p_{r}" for r in REGIMES]].to_numpy().argmax(axis=1)
    ]
    nxt = log.groupby("instrument", sort=False).shift(-1)
    log["execution_timestamp"] = nxt["timestamp"]
    # exposure held just before the open trade of t+1: x_t drifted over bar t's
    # session and the night to t+1 (engine convention)
    log["pre_trade_exposure"] = drifted_exposure(
        drifted_exposure(log["exposure"].to_numpy(), log["r_oc"].to_numpy()),
        nxt["r_co"].fillna(0.0).to_numpy(),
    )
    for column in ("turnover", "cost", "net_return", "nav"):
        log[column] = nxt[column]
    log["executed_exposure"] = nxt["exposure"]
    log["order"] = (
        log["executed_exposure"] * (1.0 - log["cost"]) - log["pre_trade_exposure"]
    )
    unexecuted = log["execution_timestamp"].isna()
    log.loc[unexecuted, ["pre_trade_exposure", "order"]] = np.nan
    log["strategy"] = strategy
    log["seed"] = np.int64(seed)
    log["t"] = log["t"].astype(np.int64)
    return log[DECISION_LOG_COLUMNS].reset_index(drop=True)
