"""Fixtures of the whole-pipeline tests.

``evaluated_run``: a small evaluated run built from the real test slices: two
baselines and a synthetic MM-DREX (causal rule experts mixed by seeded random
weights) through the real engine, with a decision log in the audit stage's
layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import compute_metrics, market_returns, run_backtest
from mm_drex.charts.raster import RasterStyle
from mm_drex.charts.store import pixel_sha256, render_points
from mm_drex.charts.windows import chart_series
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES

MARKETS = {
    "stocks": ["index", "equity"],
    "futures": ["future", "etf"],
    "crypto": ["crypto"],
}
INSTRUMENTS = ["SP500", "AAPL", "WTI", "BTC"]
BACKTEST = {
    "segment": "test",
    "costs": {"override_bps": {}},
    "limits": {"max_abs_exposure": 1.0, "gross_leverage": 1.0},
    "markets": MARKETS,
    "bootstrap": {"n_boot": 100, "block_length": 10, "confidence": 0.95, "seed": 42},
    "benchmark_strategy": "buy_hold",
}


def _expert_exposures(close: pd.Series) -> np.ndarray:
    trend = np.sign(close - close.rolling(20, min_periods=1).mean()).to_numpy()
    reversal = -np.sign(close - close.rolling(5, min_periods=1).mean()).to_numpy()
    high = close.rolling(50, min_periods=1).max().to_numpy()
    breakout = np.where(close.to_numpy() >= high, 1.0, 0.0)
    positioning = np.full(len(close), 0.3)
    return np.column_stack([trend, reversal, breakout, positioning])


def write_mmdrex_exposures(root: Path, exposure: float = 0.5) -> pd.DataFrame:
    """A stand-in ``mmdrex_exposures`` (strategy ``mm_drex``, seed 42, a constant
    ``exposure`` on every bar) for backtest runs that test the other strategies:
    the backtest stage executes the baselines' and MM-DREX's tables together."""
    ohlcv = pd.read_parquet(root / "02_intermediate" / "ohlcv.parquet")
    table = ohlcv[["instrument", "timestamp"]].assign(
        strategy="mm_drex", seed=np.int64(42), target_exposure=exposure
    )[["strategy", "seed", "instrument", "timestamp", "target_exposure"]]
    (root / "07_model_output").mkdir(parents=True, exist_ok=True)
    table.to_parquet(root / "07_model_output" / "mmdrex_exposures.parquet")
    return table


@pytest.fixture(scope="session")
def evaluated_run(ingested_root: Path) -> dict[str, object]:
    """Every input table of the reporting pipeline, built from real data."""
    root = ingested_root
    ohlcv = pd.read_parquet(root / "02_intermediate" / "ohlcv.parquet")
    instruments = pd.read_parquet(root / "02_intermediate" / "instruments.parquet")
    split = pd.read_parquet(root / "02_intermediate" / "split.parquet")
    ohlcv = ohlcv[ohlcv["instrument"].isin(INSTRUMENTS)].reset_index(drop=True)
    instruments = instruments[instruments["instrument"].isin(INSTRUMENTS)]
    instruments = instruments.reset_index(drop=True)
    split = split[split["instrument"].isin(INSTRUMENTS)].reset_index(drop=True)

    baseline_rows, mmdrex_rows, routing = [], [], []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        close = bars["close"].reset_index(drop=True)
        timestamps = bars["timestamp"].to_numpy()
        momentum = np.sign(close - close.rolling(20, min_periods=1).mean()).clip(0)
        for strategy, exposure in (("buy_hold", 1.0), ("ts_momentum", momentum)):
            baseline_rows.append(
                pd.DataFrame(
                    {
                        "strategy": strategy,
                        "seed": 42,
                        "instrument": instrument,
                        "timestamp": timestamps,
                        "target_exposure": exposure,
                    }
                )
            )
        experts = _expert_exposures(close)
        for seed in (42, 43):
            rng = np.random.default_rng(seed)
            weights = rng.dirichlet(np.ones(len(EXPERTS)), size=len(close))
            mixed = (weights * experts).sum(axis=1).clip(-1, 1)
            frame = pd.DataFrame(
                {
                    "strategy": "mm_drex",
                    "seed": seed,
                    "instrument": instrument,
                    "timestamp": timestamps,
                    "target_exposure": mixed,
                }
            )
            mmdrex_rows.append(frame)
            for k, expert in enumerate(EXPERTS):
                frame[f"w_{expert}"] = weights[:, k]
                frame[f"exposure_{expert}"] = experts[:, k]
            routing.append(frame.rename(columns={"target_exposure": "mixed_exposure"}))
    baseline_exposures = pd.concat(baseline_rows, ignore_index=True)
    mmdrex_exposures = pd.concat(mmdrex_rows, ignore_index=True)[
        ["strategy", "seed", "instrument", "timestamp", "target_exposure"]
    ]

    def evaluate(exposures: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
        positions = run_backtest(exposures, ohlcv, instruments, split, "test")
        markets = market_returns(positions, instruments, MARKETS)
        metrics = compute_metrics(
            positions, markets, instruments, MARKETS, BACKTEST["bootstrap"]
        )
        return positions, markets, metrics

    # one backtest of every strategy, as the backtest stage runs it
    strategy_exposures = pd.concat(
        [baseline_exposures, mmdrex_exposures], ignore_index=True
    )
    backtest_positions, backtest_markets, backtest_metrics = evaluate(
        strategy_exposures
    )
    mmdrex_positions = backtest_positions[
        backtest_positions["strategy"].isin(set(mmdrex_exposures["strategy"]))
    ].reset_index(drop=True)

    # The decision log's layout (mm_drex.audit.decision_log): the decision at
    # t, executed at the open of t+1, earning the net return of bar t+1.
    log = pd.concat(routing, ignore_index=True).merge(
        mmdrex_positions[["strategy", "seed", "instrument", "timestamp"]],
        on=["strategy", "seed", "instrument", "timestamp"],
    )
    following = mmdrex_positions.groupby(["strategy", "seed", "instrument"])[
        ["exposure", "net_return", "nav", "cost", "turnover"]
    ].shift(-1)
    following = pd.concat(
        [mmdrex_positions[["strategy", "seed", "instrument", "timestamp"]], following],
        axis=1,
    ).rename(columns={"exposure": "executed_exposure"})
    decision_log = log.merge(
        following, on=["strategy", "seed", "instrument", "timestamp"]
    )
    projected = mmdrex_positions[
        [
            "strategy",
            "seed",
            "instrument",
            "timestamp",
            "delta_bounds",
            "delta_leverage",
            "delta_turnover",
            "projected_exposure",
        ]
    ]
    decision_log = decision_log.merge(
        projected, on=["strategy", "seed", "instrument", "timestamp"]
    )
    probabilities = np.random.default_rng(7).dirichlet(
        np.ones(len(REGIMES)), size=len(decision_log)
    )
    for k, regime in enumerate(REGIMES):
        decision_log[f"p_{regime}"] = probabilities[:, k]
    decision_log["regime_pred"] = np.asarray(REGIMES)[probabilities.argmax(axis=1)]
    for expert in EXPERTS:
        decision_log[f"pool_{expert}"] = "uptrend"
        decision_log[f"member_{expert}"] = f"{expert}_rule_0"

    # The chart store of the decision points: real raster charts of the bars.
    points = decision_log[["instrument", "timestamp"]].drop_duplicates()
    position = ohlcv.groupby("instrument", sort=False).cumcount()
    t_of = pd.Series(
        position.to_numpy(),
        index=pd.MultiIndex.from_frame(ohlcv[["instrument", "timestamp"]]),
    )
    t = t_of.reindex(pd.MultiIndex.from_frame(points)).to_numpy()
    charts = render_points(
        chart_series(ohlcv), list(points["instrument"]), t, 100, RasterStyle()
    )
    chart_index = points.reset_index(drop=True).assign(
        t=t,
        window_start=pd.NaT,
        window_end=points["timestamp"].to_numpy(),
        segment="test",
        shard="shard_00000",
        row_in_shard=np.arange(len(points)),
        sha256=pixel_sha256(charts),
    )
    decision_log = decision_log.merge(
        chart_index[["instrument", "timestamp", "t", "sha256"]].rename(
            columns={"sha256": "chart_sha256"}
        ),
        on=["instrument", "timestamp"],
    )

    forward = ohlcv.groupby("instrument")["close"].shift(-20) / ohlcv["close"] - 1
    regimes = ohlcv[["instrument", "timestamp"]].assign(
        regime=np.select(
            [forward > 0.03, forward < -0.03], ["uptrend", "downtrend"], "sideways"
        )
    )
    regimes.loc[forward.isna(), "regime"] = None
    return {
        "ohlcv": ohlcv,
        "instruments": instruments,
        "split": split,
        "regimes": regimes,
        "baseline_exposures": baseline_exposures,
        "mmdrex_exposures": mmdrex_exposures,
        "strategy_exposures": strategy_exposures,
        "backtest_positions": backtest_positions,
        "backtest_market_returns": backtest_markets,
        "backtest_metrics": backtest_metrics,
        "mmdrex_decision_log": decision_log,
        "chart_index": chart_index,
        "chart_shards": {"shard_00000": charts},
        "backtest_params": BACKTEST,
    }
