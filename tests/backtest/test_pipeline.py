"""`kedro run` of ingestion -> backtest -> reporting on the test configuration."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest


@pytest.mark.slow
def test_backtest_and_reporting_write_sane_results(
    ingested_root: Path, tmp_path: Path, kedro_runner
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    kedro_runner("backtest", root)
    kedro_runner("reporting", root)

    positions = pd.read_parquet(root / "07_model_output" / "backtest_positions.parquet")
    split = pd.read_parquet(root / "02_intermediate" / "split.parquet")
    test_bars = split[split["segment"] == "test"]["n_bars"].sum()
    assert set(positions["strategy"]) == {"buy_hold", "sma_crossover"}
    assert len(positions) == 2 * test_bars
    assert positions["nav"].gt(0).all()
    assert positions["exposure"].between(0, 1).all()  # long/flat baselines

    metrics = pd.read_parquet(root / "08_reporting" / "backtest_metrics.parquet")
    assert set(metrics["level"]) == {"instrument", "market", "average"}
    assert metrics[metrics["level"] != "average"]["sharpe"].notna().all()
    buy_hold = metrics[
        (metrics["strategy"] == "buy_hold") & (metrics["level"] == "instrument")
    ]
    # Buy & hold trades once: one unit of NAV over the segment.
    periods = buy_hold["periods_per_year"] / buy_hold["n_returns"]
    assert (buy_hold["annual_turnover"] / periods).round(2).eq(1.0).all()

    results = pd.read_parquet(root / "08_reporting" / "backtest_results.parquet")
    assert {"sharpe_mean", "sharpe_sd", "n_seeds"} <= set(results.columns)
    report = (root / "08_reporting" / "backtest_results.md").read_text()
    for heading in (
        "Per instrument",
        "Per market",
        "Equal-market average",
        "SP500",
        "crypto",
    ):
        assert heading in report
    for png in (
        "backtest_market_nav_drawdown.png",
        "backtest_instrument_nav.png",
        "backtest_markets/stocks.png",
        "backtest_markets/crypto.png",
    ):
        path = root / "08_reporting" / png
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
