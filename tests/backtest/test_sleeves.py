"""Long tables through the engine: segments, costs, markets and metrics tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import (
    AVERAGE_NAME,
    BacktestInputError,
    compute_metrics,
    market_returns,
    resolve_cost_bps,
    run_backtest,
    segment_bars,
    simulate,
    sleeve_returns,
)
from mm_drex.backtest.metrics import sharpe_ratio
from mm_drex.data.calendar import observed_periods_per_year

MARKETS = {
    "stocks": ["index", "equity"],
    "futures": ["future", "etf"],
    "crypto": ["crypto"],
}


@pytest.fixture(scope="module")
def tables(ingested_root: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(ingested_root / "02_intermediate" / f"{name}.parquet")
        for name in ("ohlcv", "instruments", "split")
    }


def _constant_exposures(
    ohlcv: pd.DataFrame, strategies: dict[str, float]
) -> pd.DataFrame:
    frames = [
        ohlcv[["instrument", "timestamp"]].assign(
            strategy=name, seed=42, target_exposure=value
        )
        for name, value in strategies.items()
    ]
    return pd.concat(frames, ignore_index=True)


def test_positions_cover_each_instruments_segment_and_match_the_engine(tables):
    ohlcv, instruments, split = tables["ohlcv"], tables["instruments"], tables["split"]
    exposures = _constant_exposures(ohlcv, {"long": 1.0, "half": 0.5})
    positions = run_backtest(exposures, ohlcv, instruments, split, segment="test")

    test_bars = segment_bars(ohlcv, split, "test")
    assert len(positions) == 2 * len(test_bars)
    btc = test_bars[test_bars["instrument"] == "BTC"]
    ours = positions[
        (positions["instrument"] == "BTC") & (positions["strategy"] == "half")
    ]
    direct = simulate(
        np.full((len(btc), 1), 0.5),
        btc["open"].to_numpy(),
        btc["close"].to_numpy(),
        10.0,
    )
    np.testing.assert_array_equal(ours["nav"].to_numpy(), direct.nav[:, 0])
    np.testing.assert_array_equal(
        ours["timestamp"].to_numpy(), btc["timestamp"].to_numpy()
    )
    first = positions.groupby(["strategy", "instrument"]).head(1)
    assert (first["exposure"] == 0).all() and (first["nav"] == 1).all()


def test_market_return_is_the_equal_weight_of_its_active_sleeves(tables):
    ohlcv, instruments, split = tables["ohlcv"], tables["instruments"], tables["split"]
    positions = run_backtest(
        _constant_exposures(ohlcv, {"long": 1.0}), ohlcv, instruments, split
    )
    markets = market_returns(positions, instruments, MARKETS)
    returns = sleeve_returns(positions).set_index(["instrument", "timestamp"])[
        "net_return"
    ]
    futures = markets[markets["market"] == "futures"].set_index("timestamp")
    for timestamp, row in futures.sample(20, random_state=0).iterrows():
        members = [
            returns[(name, timestamp)]
            for name in ("WTI", "USO")
            if (name, timestamp) in returns.index
        ]
        assert row["n_instruments"] == len(members)
        assert row["net_return"] == pytest.approx(np.mean(members), rel=1e-14)
    assert set(markets["market"]) == set(MARKETS)


def test_metrics_annualise_crypto_with_365_and_average_the_markets(tables):
    ohlcv, instruments, split = tables["ohlcv"], tables["instruments"], tables["split"]
    positions = run_backtest(
        _constant_exposures(ohlcv, {"long": 1.0}), ohlcv, instruments, split
    )
    markets = market_returns(positions, instruments, MARKETS)
    table = compute_metrics(positions, markets, instruments, MARKETS, {"n_boot": 50})
    by_name = table.set_index("name")
    assert by_name.loc["BTC", "periods_per_year"] == 365
    assert by_name.loc["crypto", "periods_per_year"] == 365
    assert by_name.loc["stocks", "periods_per_year"] == 252
    btc = sleeve_returns(positions)
    btc = btc[btc["instrument"] == "BTC"]["net_return"].to_numpy()
    assert by_name.loc["BTC", "sharpe"] == pytest.approx(sharpe_ratio(btc, 365))
    average = by_name.loc[AVERAGE_NAME]
    market_rows = table[table["level"] == "market"]
    assert average["sharpe"] == pytest.approx(market_rows["sharpe"].mean())
    assert set(table["level"]) == {"instrument", "market", "average"}
    instrument_rows = table[table["level"] == "instrument"]
    assert (instrument_rows["sharpe_ci_low"] < instrument_rows["sharpe"]).all()


def test_a_market_whose_instruments_disagree_on_periods_per_year_uses_its_dates(tables):
    ohlcv, instruments, split = tables["ohlcv"], tables["instruments"], tables["split"]
    positions = run_backtest(
        _constant_exposures(ohlcv, {"long": 1.0}), ohlcv, instruments, split
    )
    mixed = {"everything": ["index", "equity", "future", "etf", "crypto"]}
    markets = market_returns(positions, instruments, mixed)
    metrics = compute_metrics(positions, markets, instruments, mixed)
    row = metrics[metrics["level"] == "market"].iloc[0]
    # 252-day and 365-day members: the market's own trading dates per year
    assert row["periods_per_year"] == round(
        observed_periods_per_year(markets["timestamp"])
    )
    assert 252 < row["periods_per_year"] <= 366


def test_cost_overrides_win_most_specific_first(tables):
    instruments = tables["instruments"]
    costs = resolve_cost_bps(instruments, {"all": 20, "crypto": 25, "ETH": 5})
    assert costs["SP500"] == 20 and costs["BTC"] == 25 and costs["ETH"] == 5
    assert (
        resolve_cost_bps(instruments, {})
        == instruments.set_index("instrument")["cost_bps"]
    ).all()
    with pytest.raises(BacktestInputError, match="unknown key"):
        resolve_cost_bps(instruments, {"bonds": 3})


def test_a_missing_decision_on_a_segment_bar_names_strategy_instrument_and_time(tables):
    ohlcv, instruments, split = tables["ohlcv"], tables["instruments"], tables["split"]
    exposures = _constant_exposures(ohlcv, {"long": 1.0})
    test_bars = segment_bars(ohlcv, split, "test")
    hole = test_bars[test_bars["instrument"] == "USO"]["timestamp"].iloc[10]
    exposures = exposures[
        ~((exposures["instrument"] == "USO") & (exposures["timestamp"] == hole))
    ]
    with pytest.raises(BacktestInputError, match=rf"long.*USO.*{hole.date()}"):
        run_backtest(exposures, ohlcv, instruments, split)
