"""Significance tests find a planted edge and do not find one between equals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_drex.reporting.significance import (
    significance_markdown,
    significance_tables,
    spa_pvalues,
)

BOOTSTRAP = {"n_boot": 400, "block_length": 10, "confidence": 0.95, "seed": 42}


def _returns(series: dict[str, np.ndarray], name: str = "stocks") -> pd.DataFrame:
    timestamps = pd.bdate_range("2020-01-01", periods=len(next(iter(series.values()))))
    frames = [
        pd.DataFrame(
            {
                "strategy": strategy,
                "seed": 42,
                "name": name,
                "timestamp": timestamps,
                "net_return": values,
            }
        )
        for strategy, values in series.items()
    ]
    return pd.concat(frames, ignore_index=True)


def _market(n: int = 1000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.01, n)


def test_planted_edge_is_detected_by_bootstrap_and_spa():
    market = _market()
    noise = np.random.default_rng(1).normal(0.0, 0.002, len(market))
    returns = _returns(
        {
            "mm_drex": market + 0.002 + noise,
            "buy_hold": market,
            "sma_crossover": 0.5 * market,
        }
    )
    sharpe, spa = significance_tables(
        returns, "mm_drex", ["buy_hold", "sma_crossover"], {"stocks": 252}, BOOTSTRAP
    )
    assert set(sharpe["baseline"]) == {"buy_hold", "sma_crossover"}
    assert sharpe["significant"].all()
    assert (sharpe["ci_low"] > 0).all()
    joint = spa[spa["baseline"] == "ALL"].iloc[0]
    assert joint["p_lead_beats"] < 0.05
    assert joint["p_any_baseline_beats_lead"] > 0.5


def test_identical_strategies_are_not_significant():
    market = _market()
    returns = _returns({"mm_drex": market, "buy_hold": market.copy()})
    sharpe, spa = significance_tables(
        returns, "mm_drex", ["buy_hold"], {"stocks": 252}, BOOTSTRAP
    )
    assert not sharpe["significant"].any()
    assert sharpe["sharpe_difference"].abs().max() == 0.0
    assert (spa["p_lead_beats"] > 0.5).all()


def test_noise_only_difference_is_not_detected():
    market = _market()
    noise = np.random.default_rng(3).normal(0.0, 0.002, len(market))
    returns = _returns({"mm_drex": market + noise, "buy_hold": market})
    sharpe, spa = significance_tables(
        returns, "mm_drex", ["buy_hold"], {"stocks": 252}, BOOTSTRAP
    )
    assert not sharpe["significant"].any()
    assert spa.loc[spa["baseline"] == "ALL", "p_lead_beats"].iloc[0] > 0.05


def test_a_better_baseline_is_flagged_in_hansens_direction():
    market = _market()
    noise = np.random.default_rng(4).normal(0.0, 0.002, len(market))
    returns = _returns({"mm_drex": market, "buy_hold": market + 0.002 + noise})
    _, spa = significance_tables(
        returns, "mm_drex", ["buy_hold"], {"stocks": 252}, BOOTSTRAP
    )
    joint = spa[spa["baseline"] == "ALL"].iloc[0]
    assert joint["p_any_baseline_beats_lead"] < 0.05
    assert joint["p_lead_beats"] > 0.05


def test_spa_pvalues_of_identical_or_shifted_series_are_degenerate():
    market = _market(200)
    assert spa_pvalues(market, market) == (1.0, 1.0, 1.0)
    assert spa_pvalues(market, market - 0.001) == (1.0, 1.0, 1.0)
    assert spa_pvalues(market, market + 0.001) == (0.0, 0.0, 0.0)


def test_missing_lead_gives_empty_tables_and_says_so():
    returns = _returns({"buy_hold": _market(100)})
    sharpe, spa = significance_tables(
        returns, "mm_drex", ["buy_hold"], {"stocks": 252}, BOOTSTRAP
    )
    assert sharpe.empty and spa.empty
    assert "No returns of `mm_drex`" in significance_markdown(sharpe, spa, "mm_drex")
