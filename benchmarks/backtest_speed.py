"""Throughput of the backtest engine against vectorbt on one parameter sweep.

The same SMA-crossover sweep, long/flat, 10 bps, decision at the close executed
at the next open, on the 5,031 S&P 500 bars: every (fast, slow) pair with
fast < slow from 20 windows (5, 10, ..., 100) = 190 parameter sets. Each side
runs its whole pipeline: moving averages, signals/exposures, portfolio
simulation and the per-bar returns. The returns are checked to agree (growth
factors within 1e-9), then the throughput in bar-strategies per second is
printed for both, with their ratio. Timing = best of ``--repeats`` runs after
one warm-up run (numba compilation excluded on both sides).

    python benchmarks/backtest_speed.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from mm_drex.backtest import simulate
from mm_drex.baselines.sma_crossover import crossover_exposures
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.validation import BarCheck, validate_bars

WINDOWS = np.arange(5, 105, 5)
COST_BPS = 10.0


def load_sp500() -> pd.DataFrame:
    check = BarCheck(instrument="SP500", source="arch/sp500", rules={}, min_bars=1)
    return validate_bars(BUNDLED_SOURCES["arch/sp500"](), check)


def run_ours(bars: pd.DataFrame) -> np.ndarray:
    pairs = np.array(list(itertools.combinations(WINDOWS, 2)))
    close = bars["close"].to_numpy()
    exposure = crossover_exposures(close, pairs[:, 0], pairs[:, 1], "long_flat")
    result = simulate(exposure, bars["open"].to_numpy(), close, cost_bps=COST_BPS)
    return result.net_return


def run_vectorbt(vbt, bars: pd.DataFrame) -> np.ndarray:
    index = pd.DatetimeIndex(bars["timestamp"])
    close = pd.Series(bars["close"].to_numpy(), index=index)
    open_ = pd.Series(bars["open"].to_numpy(), index=index)
    fast, slow = vbt.MA.run_combs(
        close, window=WINDOWS, r=2, short_names=["fast", "slow"]
    )
    above = fast.ma_above(slow)
    # decided at the close of t -> order on bar t+1 at its open
    entries = above.shift(1).fillna(0).astype(bool)
    portfolio = vbt.Portfolio.from_signals(
        close,
        entries=entries,
        exits=~entries,
        price=open_,
        fees=COST_BPS * 1e-4,
        init_cash=1.0,
        freq="1D",
    )
    return portfolio.returns().to_numpy()


def best_of(function, repeats: int) -> tuple[float, float, np.ndarray]:
    function()  # warm-up: numba compilation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import vectorbt as vbt

    bars = load_sp500()
    n_bars, n_sets = len(bars), len(list(itertools.combinations(WINDOWS, 2)))
    work = n_bars * n_sets
    ours_best, ours_median, ours = best_of(lambda: run_ours(bars), args.repeats)
    vbt_best, vbt_median, theirs = best_of(
        lambda: run_vectorbt(vbt, bars), args.repeats
    )

    assert ours.shape == theirs.shape == (n_bars, n_sets), (ours.shape, theirs.shape)
    relative = np.abs((1.0 + ours) - (1.0 + theirs)) / np.abs(1.0 + theirs)
    total_ours = np.prod(1.0 + ours, axis=0) - 1.0
    total_theirs = np.prod(1.0 + theirs, axis=0) - 1.0
    total_relative = np.abs(total_ours - total_theirs) / np.abs(total_theirs)
    agree = bool(relative.max() <= 1e-9 and total_relative.max() <= 1e-9)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"vectorbt {vbt.__version__}, numpy {np.__version__}, pandas {pd.__version__}"
    )
    print(
        f"sweep: {n_sets} (fast, slow) pairs x {n_bars} S&P 500 bars = {work:,} bar-strategies"
    )
    print(
        f"returns agree: {agree} (max relative difference of 1+r: {relative.max():.2e}, "
        f"of total return: {total_relative.max():.2e})"
    )
    for name, best, median in (
        ("vectorbt", vbt_best, vbt_median),
        ("mm_drex ", ours_best, ours_median),
    ):
        print(
            f"{name}: best {best * 1e3:8.1f} ms ({work / best / 1e6:6.1f} M bar-strategies/s), "
            f"median {median * 1e3:8.1f} ms ({work / median / 1e6:6.1f} M/s)"
        )
    print(
        f"throughput ratio (ours / vectorbt): best {vbt_best / ours_best:.1f}x, "
        f"median {vbt_median / ours_median:.1f}x"
    )
    if not agree:
        raise SystemExit("the two engines disagree")


if __name__ == "__main__":
    main()
