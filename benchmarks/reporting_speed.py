"""Speed of the reporting stage's heavy parts on the full universe.

Loads ingestion's tables from the project's data root (run `kedro run
--pipeline ingestion` first), builds 16 strategies x 5 seeds of seeded random
exposures (the size of 15 baselines + MM-DREX) on every bar, runs them through
the engine, then times the significance tests (block bootstrap + SPA per
market and baseline) and the cost sensitivity (5 costs). Prints seconds.

    python benchmarks/reporting_speed.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from mm_drex.backtest import market_returns, run_backtest
from mm_drex.reporting.sensitivity import cost_sensitivity
from mm_drex.reporting.significance import significance_tables

PROJECT = Path(__file__).resolve().parents[1]
MARKETS = {
    "stocks": ["index", "equity"],
    "futures": ["future", "etf"],
    "crypto": ["crypto"],
}


def main() -> None:
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT) as session:
        catalog = session.load_context().catalog
        ohlcv, instruments, split = (
            catalog.load(n) for n in ("ohlcv", "instruments", "split")
        )
    strategies = ["mm_drex", *[f"baseline_{i:02d}" for i in range(15)]]
    rng = np.random.default_rng(42)
    frames = []
    for strategy in strategies:
        for seed in range(42, 47):
            frames.append(
                pd.DataFrame(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "instrument": ohlcv["instrument"].to_numpy(),
                        "timestamp": ohlcv["timestamp"].to_numpy(),
                        "target_exposure": rng.uniform(0, 1, len(ohlcv)),
                    }
                )
            )
    exposures = pd.concat(frames, ignore_index=True)
    print(f"exposure rows: {len(exposures):,}")

    start = time.perf_counter()
    positions = run_backtest(exposures, ohlcv, instruments, split, "test")
    table = market_returns(positions, instruments, MARKETS)
    print(f"engine + markets: {time.perf_counter() - start:.1f} s")

    periods = {"stocks": 252, "futures": 252, "crypto": 365}
    bootstrap = {"n_boot": 1000, "block_length": 20, "confidence": 0.95, "seed": 42}
    start = time.perf_counter()
    sharpe, spa = significance_tables(
        table.rename(columns={"market": "name"}),
        "mm_drex",
        strategies[1:],
        periods,
        bootstrap,
    )
    print(
        f"significance ({len(sharpe)} Sharpe intervals, {len(spa)} SPA tests, "
        f"1000 draws): {time.perf_counter() - start:.1f} s"
    )

    start = time.perf_counter()
    costs = cost_sensitivity(
        exposures, ohlcv, instruments, split, MARKETS, [0, 5, 10, 20, 50]
    )
    print(
        f"cost sensitivity (5 costs, {len(costs)} rows): "
        f"{time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
