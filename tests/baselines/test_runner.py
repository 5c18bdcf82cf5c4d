"""How the runner pools instruments and hands parameters to the baselines."""

from __future__ import annotations

import pytest

from mm_drex.baselines import BASELINES, fit_baseline, strategy_parameters
from mm_drex.baselines.runner import pools

MARKETS = {"stocks": ["index", "equity"], "futures": ["future", "etf"]}


def test_pools_group_instruments_alone_by_market_or_all_together(small_universe):
    def names(groups):
        return [[h.instrument for h in group] for group in groups]

    assert names(pools(small_universe, "instrument")) == [["SP500"], ["WTI"]]
    assert names(pools(small_universe, "market", MARKETS)) == [["SP500"], ["WTI"]]
    assert names(pools(small_universe, "market", {"all": ["index", "future"]})) == [
        ["SP500", "WTI"]
    ]
    assert names(pools(small_universe, "universe")) == [["SP500", "WTI"]]
    with pytest.raises(ValueError, match="unknown pooling 'sector'"):
        pools(small_universe, "sector")


def test_a_pooled_baseline_is_one_model_per_pool(small_universe, baseline_params):
    params = strategy_parameters(baseline_params, "gradient_boosting")
    together = fit_baseline(
        BASELINES["gradient_boosting"],
        {**params, "pooling": "universe"},
        42,
        small_universe,
    )
    assert together["SP500"] is together["WTI"]
    assert together["SP500"].selected_params("WTI")["pool"] == ["SP500", "WTI"]
    apart = fit_baseline(
        BASELINES["gradient_boosting"],
        {**params, "pooling": "market"},
        42,
        small_universe,
        markets=MARKETS,
    )
    assert apart["SP500"] is not apart["WTI"]
    assert apart["WTI"].selected_params("WTI")["pool"] == ["WTI"]


def test_stage_wide_parameters_sit_under_each_baselines_own():
    params = {
        "num_threads": 2,
        "features": {"ma_windows": [5, 20, 50, 200]},
        "strategies": {
            "lstm_forecaster": {"num_threads": 1, "hidden": 8},
            "buy_hold": None,
        },
    }
    assert strategy_parameters(params, "lstm_forecaster") == {
        "num_threads": 1,
        "features": {"ma_windows": [5, 20, 50, 200]},
        "hidden": 8,
    }
    assert strategy_parameters(params, "buy_hold")["num_threads"] == 2
