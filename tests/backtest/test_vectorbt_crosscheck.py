"""Cross-check of the engine against vectorbt (an independent implementation).

vectorbt executes a signal at ``price`` of the bar it is placed on and charges
``fees`` on the traded value, out of cash. A decision at the close of bar t is
therefore given to vectorbt as a signal on bar t+1 with ``price=open``; with
long/flat signals and all cash invested this is exactly our convention
(exposure as a fraction of post-trade NAV, cost on the traded notional).
vectorbt is imported only here (it takes seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt  # test-only dependency

from mm_drex.backtest import run_backtest, simulate
from mm_drex.baselines.sma_crossover import crossover_exposures

COST_BPS = 10.0


def _vectorbt_returns(bars: pd.DataFrame, exposure: np.ndarray) -> pd.Series:
    index = pd.DatetimeIndex(bars["timestamp"])
    long = pd.Series(exposure > 0.5, index=index)
    entries = long.shift(1, fill_value=False)  # decided at t, placed at t+1
    portfolio = vbt.Portfolio.from_signals(
        pd.Series(bars["close"].to_numpy(), index=index),
        entries=entries,
        exits=~entries,
        price=pd.Series(bars["open"].to_numpy(), index=index),
        fees=COST_BPS * 1e-4,
        init_cash=1.0,
        freq="1D",
    )
    return portfolio.returns()


def _assert_same_returns(ours: np.ndarray, theirs: np.ndarray) -> None:
    # Relative difference of the growth factors (1 + r): returns near zero
    # make a relative difference of r itself meaningless.
    np.testing.assert_allclose(1.0 + ours, 1.0 + theirs, rtol=1e-9, atol=0)
    total_ours = np.prod(1.0 + ours) - 1.0
    total_theirs = np.prod(1.0 + theirs) - 1.0
    assert abs(total_ours - total_theirs) <= 1e-9 * abs(total_theirs)


def test_sma_crossover_on_sp500_matches_vectorbt_bar_by_bar(sp500_bars):
    exposure = crossover_exposures(sp500_bars["close"].to_numpy(), [20], [50])[:, 0]
    ours = simulate(
        exposure[:, None],
        sp500_bars["open"].to_numpy(),
        sp500_bars["close"].to_numpy(),
        cost_bps=COST_BPS,
    )
    theirs = _vectorbt_returns(sp500_bars, exposure)
    assert len(theirs) == 5031
    assert int(np.sum(np.abs(np.diff(exposure)) > 0)) > 50  # many trades
    _assert_same_returns(ours.net_return[:, 0], theirs.to_numpy())


def test_backtest_of_the_test_segment_matches_vectorbt_on_that_segment(sp500_bars):
    exposure = crossover_exposures(sp500_bars["close"].to_numpy(), [10], [100])[:, 0]
    bars = sp500_bars.assign(instrument="SP500")
    instruments = pd.DataFrame(
        {
            "instrument": ["SP500"],
            "asset_class": ["index"],
            "periods_per_year": [252],
            "cost_bps": [COST_BPS],
            "allow_short": [True],
        }
    )
    split = pd.DataFrame(
        {
            "instrument": ["SP500"],
            "segment": ["test"],
            "start_idx": [4024],
            "end_idx": [5031],
        }
    )
    exposures = pd.DataFrame(
        {
            "strategy": "sma_crossover",
            "seed": 42,
            "instrument": "SP500",
            "timestamp": bars["timestamp"],
            "target_exposure": exposure,
        }
    )
    positions = run_backtest(exposures, bars, instruments, split, segment="test")
    segment = sp500_bars.iloc[4024:].reset_index(drop=True)
    theirs = _vectorbt_returns(segment, exposure[4024:])
    assert len(positions) == len(theirs) == 1007
    _assert_same_returns(positions["net_return"].to_numpy(), theirs.to_numpy())
    assert positions["nav"].iloc[-1] == pytest.approx(
        1.0 + float(np.prod(1.0 + theirs.to_numpy()) - 1.0), rel=1e-9
    )


def test_parameter_sweep_matches_vectorbt_for_every_pair(sp500_bars):
    close = sp500_bars["close"].to_numpy()
    fast, slow = np.array([5, 10, 20]), np.array([50, 100, 200])
    exposure = crossover_exposures(close, fast, slow)
    ours = simulate(exposure, sp500_bars["open"].to_numpy(), close, cost_bps=COST_BPS)
    for column in range(exposure.shape[1]):
        theirs = _vectorbt_returns(sp500_bars, exposure[:, column])
        _assert_same_returns(ours.net_return[:, column], theirs.to_numpy())
