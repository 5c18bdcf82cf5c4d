"""Metric definitions on small hand-computed series; bootstrap; seed aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import metrics

RETURNS = np.array([0.10, -0.05, 0.02, -0.10, 0.04])


def test_total_and_annual_return_compound_the_bars():
    growth = 1.10 * 0.95 * 1.02 * 0.90 * 1.04
    assert metrics.total_return(RETURNS) == pytest.approx(growth - 1, rel=1e-14)
    assert metrics.annual_return(RETURNS, 252) == pytest.approx(
        growth ** (252 / 5) - 1, rel=1e-12
    )


def test_sharpe_uses_sample_std_and_sqrt_of_periods_per_year():
    mean = RETURNS.sum() / 5
    std = np.sqrt(((RETURNS - mean) ** 2).sum() / 4)
    assert metrics.sharpe_ratio(RETURNS, 365) == pytest.approx(
        np.sqrt(365) * mean / std, rel=1e-14
    )
    assert metrics.annual_volatility(RETURNS, 252) == pytest.approx(
        np.sqrt(252) * std, rel=1e-14
    )


def test_sortino_divides_by_downside_deviation_over_all_bars():
    downside = np.sqrt((0.05**2 + 0.10**2) / 5)
    assert metrics.sortino_ratio(RETURNS, 252) == pytest.approx(
        np.sqrt(252) * RETURNS.mean() / downside, rel=1e-14
    )


def test_max_drawdown_is_measured_on_the_nav_path_from_one():
    nav = np.cumprod(1 + RETURNS)  # 1.1, 1.045, 1.0659, 0.95931, 0.997682
    assert metrics.max_drawdown(RETURNS) == pytest.approx(nav[3] / 1.1 - 1, rel=1e-14)
    # A loss on the very first bar is a drawdown from the starting NAV of 1.
    assert metrics.max_drawdown(np.array([-0.2, 0.1])) == pytest.approx(-0.2)
    calmar = metrics.annual_return(RETURNS, 252) / abs(nav[3] / 1.1 - 1)
    assert metrics.calmar_ratio(RETURNS, 252) == pytest.approx(calmar, rel=1e-12)


def test_rolling_quantile_compounds_each_20_bar_window():
    returns = np.full(25, 0.01)
    returns[10] = -0.30
    windows = [np.prod(1 + returns[k : k + 20]) - 1 for k in range(6)]
    assert metrics.rolling_return_quantile(returns, 20, 0.05) == pytest.approx(
        np.quantile(windows, 0.05), rel=1e-13
    )
    assert np.isnan(metrics.rolling_return_quantile(returns[:19], 20, 0.05))


def test_hit_rate_ignores_flat_bars_and_turnover_is_annualised():
    assert metrics.hit_rate(np.array([0.01, 0.0, -0.02, 0.03, 0.0])) == pytest.approx(
        2 / 3
    )
    assert metrics.annual_turnover(np.array([0.0, 1.0, 0.0, 1.0]), 252) == 126.0


def test_metrics_reduce_each_column_of_a_2d_array():
    rng = np.random.default_rng(3)
    block = rng.normal(0.001, 0.01, size=(300, 4))
    summary = metrics.performance_summary(block, 252, turnover=np.abs(block))
    for name, values in summary.items():
        assert np.shape(values) == (4,), name
        for column in range(4):
            one = metrics.performance_summary(
                block[:, column], 252, turnover=np.abs(block[:, column])
            )[name]
            assert values[column] == pytest.approx(one, rel=1e-12), name


def test_a_flat_series_has_nan_ratios_not_errors():
    summary = metrics.performance_summary(np.zeros(30), 252)
    assert np.isnan(summary["sharpe"]) and np.isnan(summary["sortino"])
    assert summary["max_drawdown"] == 0.0 and np.isnan(summary["calmar"])


def test_block_bootstrap_keeps_blocks_of_consecutive_bars_and_is_seeded():
    indices = metrics.block_bootstrap_indices(103, 10, 50, seed=7)
    assert indices.shape == (50, 103)
    assert indices.min() >= 0 and indices.max() <= 102
    steps = np.diff(indices[:, :10], axis=1)
    assert (steps == 1).all()  # the first block is 10 consecutive bars
    np.testing.assert_array_equal(
        indices, metrics.block_bootstrap_indices(103, 10, 50, seed=7)
    )
    assert not np.array_equal(
        indices, metrics.block_bootstrap_indices(103, 10, 50, seed=8)
    )


def test_bootstrap_replicates_in_chunks_equal_those_of_the_whole_index_array():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0005, 0.01, (2, 1001))
    whole = metrics.block_bootstrap_indices(1001, 20, 64, seed=9)
    expected = metrics.sharpe_ratio(a[whole].T, 252) - metrics.sharpe_ratio(
        b[whole].T, 252
    )

    def difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return metrics.sharpe_ratio(x, 252) - metrics.sharpe_ratio(y, 252)

    for chunk in (1, 5_000, 64 * 1001, 10**9):  # 1 resample a chunk ... all at once
        np.testing.assert_array_equal(
            metrics.bootstrap_replicates(difference, [a, b], 20, 64, 9, chunk),
            expected,
        )


def test_sharpe_interval_contains_the_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(11)
    short = rng.normal(0.0005, 0.01, 250)
    long = rng.normal(0.0005, 0.01, 2500)
    a = metrics.sharpe_confidence_interval(short, 252, 20, 500, 0.95, seed=1)
    b = metrics.sharpe_confidence_interval(long, 252, 20, 500, 0.95, seed=1)
    assert a.low < a.estimate < a.high
    assert (b.high - b.low) < 0.5 * (a.high - a.low)


def test_sharpe_difference_of_a_series_with_itself_is_exactly_zero():
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0, 0.01, 400)
    same = metrics.sharpe_difference_interval(returns, returns, 252, 20, 200)
    assert same.estimate == same.low == same.high == 0.0
    better = metrics.sharpe_difference_interval(returns + 0.002, returns, 252, 20, 200)
    assert better.low > 0  # a constant daily edge of 20 bps is significant


def test_seed_aggregation_gives_mean_and_sample_sd():
    table = pd.DataFrame(
        {
            "strategy": ["a", "a", "a", "b"],
            "seed": [42, 43, 44, 42],
            "sharpe": [1.0, 2.0, 3.0, 0.5],
        }
    )
    out = metrics.aggregate_seeds(table, ["strategy"], ["sharpe"])
    row = out.set_index("strategy")
    assert row.loc["a", "sharpe_mean"] == 2.0
    assert row.loc["a", "sharpe_sd"] == pytest.approx(1.0)
    assert row.loc["a", "n_seeds"] == 3
    assert np.isnan(row.loc["b", "sharpe_sd"])
