"""`kedro run` of ingestion -> backtest -> the backtest's results tables on the
test configuration (the full report: tests/pipelines/test_reporting.py).

The backtest executes the exposure tables of the strategy stages together;
here the baselines' table holds buy & hold and the SMA crossover, fitted with
the library (the baselines stage: tests/pipelines/test_baselines.py), and
MM-DREX's a constant half-long stand-in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from mm_drex.baselines import run_baselines
from tests.pipelines.conftest import write_mmdrex_exposures

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline


def write_baseline_exposures(root: Path) -> None:
    """``baseline_exposures`` / ``baseline_selection`` of two rule baselines."""
    tables = {
        name: pd.read_parquet(root / "02_intermediate" / f"{name}.parquet")
        for name in ("ohlcv", "instruments", "split")
    }
    exposures, selection, _ = run_baselines(
        tables["ohlcv"],
        tables["instruments"],
        tables["split"],
        {"buy_hold": {}, "sma_crossover": {"fast": [10, 20], "slow": [50, 100]}},
        seeds=[42],
    )
    (root / "07_model_output").mkdir(parents=True, exist_ok=True)
    exposures.to_parquet(root / "07_model_output" / "baseline_exposures.parquet")
    selection.to_parquet(root / "07_model_output" / "baseline_selection.parquet")


def test_backtest_and_reporting_write_sane_results(
    ingested_root: Path, tmp_path: Path, kedro_runner
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    write_baseline_exposures(root)
    write_mmdrex_exposures(root)
    kedro_runner("backtest", root)
    # the backtest's own part of the reporting stage (the rest of it needs the
    # MM-DREX stages upstream; tests/pipelines/test_reporting.py covers it)
    kedro_runner(
        "reporting",
        root,
        node_names=["aggregate_seeds", "results_markdown"],
    )

    positions = pd.read_parquet(root / "07_model_output" / "backtest_positions.parquet")
    split = pd.read_parquet(root / "02_intermediate" / "split.parquet")
    test_bars = split[split["segment"] == "test"]["n_bars"].sum()
    assert set(positions["strategy"]) == {"buy_hold", "sma_crossover", "mm_drex"}
    assert len(positions) == 3 * test_bars
    assert positions["nav"].gt(0).all()
    assert positions["exposure"].between(0, 1).all()  # long/flat strategies
    exposures = pd.read_parquet(root / "07_model_output/strategy_exposures.parquet")
    assert set(exposures["strategy"]) == set(positions["strategy"])

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
