"""Results tables (seed mean ± sd) and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mm_drex.backtest.metrics import METRIC_NAMES
from mm_drex.reporting import (
    instrument_nav_figure,
    market_nav_drawdown_figure,
    market_nav_drawdown_figures,
    results_markdown,
    results_table,
)


def _metrics(seeds: list[int], sharpes: list[float]) -> pd.DataFrame:
    rows = []
    for seed, sharpe in zip(seeds, sharpes, strict=True):
        rows.append(
            {
                "strategy": "mm_drex",
                "seed": seed,
                "level": "instrument",
                "name": "BTC",
                "market": "crypto",
                "periods_per_year": 365.0,
                "n_returns": 549,
                "start": pd.Timestamp("2019-06-09"),
                "end": pd.Timestamp("2020-12-08"),
                **{m: 0.1 for m in METRIC_NAMES},
                "sharpe": sharpe,
                "sharpe_ci_low": sharpe - 1,
                "sharpe_ci_high": sharpe + 1,
            }
        )
    return pd.DataFrame(rows)


def test_results_table_aggregates_seeds_into_mean_and_sd():
    table = results_table(_metrics([42, 43, 44, 45, 46], [1.0, 1.2, 1.4, 1.6, 1.8]))
    row = table.iloc[0]
    assert row["n_seeds"] == 5
    assert row["sharpe_mean"] == pytest.approx(1.4)
    assert row["sharpe_sd"] == pytest.approx(np.std([1.0, 1.2, 1.4, 1.6, 1.8], ddof=1))
    assert row["periods_per_year"] == 365


def test_markdown_shows_mean_plus_minus_sd_for_several_seeds_only():
    several = results_markdown(
        results_table(_metrics([42, 43], [1.0, 2.0])),
        pd.DataFrame(),
        pd.DataFrame(),
        {"segment": "test"},
    )
    assert "| BTC | mm_drex | 2 | 549 |" in several
    assert "1.50 ± 0.71" in several
    single = results_markdown(
        results_table(_metrics([42], [1.0])), pd.DataFrame(), pd.DataFrame(), {}
    )
    assert "1.00 ±" not in single and "| 1.00 |" in single
    with pytest.raises(ValueError, match="unknown metric"):
        results_markdown(
            results_table(_metrics([42], [1.0])),
            pd.DataFrame(),
            pd.DataFrame(),
            {},
            ["sharpe", "alpha"],
        )


def _market_returns() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for market, dates in (
        (
            "stocks",
            pd.bdate_range("2012-01-02", periods=60).append(
                pd.bdate_range("2016-01-04", periods=60)
            ),
        ),
        ("crypto", pd.date_range("2020-01-01", periods=90)),
    ):
        for strategy in ("buy_hold", "mm_drex"):
            for seed in (42, 43):
                returns = rng.normal(0, 0.01, len(dates))
                frames.append(
                    pd.DataFrame(
                        {
                            "strategy": strategy,
                            "seed": seed,
                            "market": market,
                            "timestamp": dates,
                            "n_instruments": 1,
                            "net_return": returns,
                            "turnover": 0.0,
                            "nav": np.cumprod(1 + returns),
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def test_figures_have_one_nav_and_one_drawdown_panel_per_market():
    table = _market_returns()
    overview = market_nav_drawdown_figure(table)
    assert isinstance(overview, Figure) and len(overview.axes) == 4
    per_market = market_nav_drawdown_figures(table)
    assert sorted(per_market) == ["crypto.png", "stocks.png"]
    nav_axes = per_market["stocks.png"].axes[0]
    # Two strategies, each a mean line; the 2012 -> 2016 hole is not bridged.
    assert len(nav_axes.get_lines()) == 3  # + the NAV = 1 reference line
    assert np.isnan(nav_axes.get_lines()[0].get_ydata()).sum() == 1
    positions = table.rename(columns={"market": "instrument"})
    assert len(instrument_nav_figure(positions, columns=2).axes) == 2
