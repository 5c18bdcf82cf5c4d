"""The deflated Sharpe ratio against the published example, and its inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.reporting.deflated import (
    deflated_sharpe_from_moments,
    deflated_sharpe_ratio,
    deflated_sharpe_report,
    expected_max_sharpe,
)


def test_the_expected_best_of_unskilled_trials_grows_with_their_number():
    assert expected_max_sharpe(1, 1.0) == 0.0
    # Bailey & Lopez de Prado (2014): about 2.53 standard deviations for N = 100
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.5306, abs=1e-3)
    assert expected_max_sharpe(1000, 1.0) > expected_max_sharpe(100, 1.0)


def test_the_published_numerical_example():
    # Bailey & Lopez de Prado (2014), section 5: annualised SR 2.5 over 5 years of
    # daily returns (T = 1250, 250 a year), skew -3, kurtosis 10, N = 100 trials
    # whose annualised Sharpes have variance 0.5: DSR = 0.9004.
    dsr = deflated_sharpe_from_moments(
        2.5 / np.sqrt(250), 1250, -3.0, 10.0, 100, np.sqrt(0.5) / np.sqrt(250)
    )
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_more_trials_deflate_a_real_return_series_more():
    close = BUNDLED_SOURCES["arch/sp500"]()["Close"].to_numpy()
    returns = np.diff(close) / close[:-1]
    one = deflated_sharpe_ratio(returns, 1, 0.5 / np.sqrt(252))
    many = deflated_sharpe_ratio(returns, 200, 0.5 / np.sqrt(252))
    assert 0.0 < many < one < 1.0
    assert np.isnan(deflated_sharpe_ratio(np.zeros(10), 5, 0.1))


def test_the_report_takes_its_trials_from_the_val_selections_only():
    close = BUNDLED_SOURCES["arch/sp500"]()["Close"].to_numpy()[:600]
    returns = np.diff(close) / close[:-1]
    stamps = pd.bdate_range("2010-01-01", periods=len(returns))
    market_returns = pd.concat(
        [
            pd.DataFrame(
                {
                    "strategy": name,
                    "seed": seed,
                    "market": "stocks",
                    "timestamp": stamps,
                    "net_return": returns * scale,
                }
            )
            for name, seed, scale in [
                ("mmdrex", 42, 1.0),
                ("mmdrex", 43, 0.5),
                ("sma_crossover", 42, 1.0),
                ("buy_hold", 42, 1.0),
            ]
        ]
    )
    metrics = pd.DataFrame(
        {"level": ["market"], "name": ["stocks"], "periods_per_year": [252.0]}
    )
    selection = pd.DataFrame(
        {
            "strategy": ["sma_crossover", "sma_crossover", "buy_hold"],
            "seed": [42, 42, 42],
            "instrument": ["SP500", "AAPL", "SP500"],
            "n_candidates": [16, 12, 1],
            "candidate_sharpe_sd": [0.4, 0.6, np.nan],
        }
    )
    log = pd.DataFrame(
        {
            "entry": [0, 0, 1, 1, 0],
            "seed": [42, 42, 42, 42, 43],
            "val_score": [0.1, np.nan, 0.5, -0.2, 9.0],  # seed 43: not a trial
        }
    )
    markets_of = pd.Series({"SP500": "stocks", "AAPL": "stocks"})
    table, markdown = deflated_sharpe_report(
        market_returns, metrics, selection, log, markets_of, "mmdrex"
    )
    rows = table.set_index("strategy")
    assert set(rows.index) == {"mmdrex", "sma_crossover"}  # buy & hold chose nothing
    assert rows.loc["sma_crossover", "n_trials"] == 16
    assert rows.loc["sma_crossover", "trial_sharpe_sd"] == pytest.approx(0.5)
    assert rows.loc["mmdrex", "n_trials"] == 3
    assert rows.loc["mmdrex", "trial_sharpe_sd"] == pytest.approx(
        np.std([0.1, 0.5, -0.2], ddof=1)
    )
    assert rows.loc["mmdrex", "n_seeds"] == 2
    expected = np.mean(
        [
            deflated_sharpe_ratio(
                returns * s, 3, rows.loc["mmdrex", "trial_sharpe_sd"] / np.sqrt(252)
            )
            for s in (1.0, 0.5)
        ]
    )
    assert rows.loc["mmdrex", "deflated_sharpe"] == pytest.approx(expected)
    assert "| stocks | mmdrex |" in markdown
