"""The robustness audit: the paper's weights, ranks within the update."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mm_drex.experts.evaluation import window_returns
from mm_drex.experts.robustness import AUDIT_WEIGHTS, percentile_rank, robustness_scores

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_audit_weights_are_the_papers_in_code_and_in_parameters():
    paper = {
        "beats_benchmark": 0.30,
        "q05_return": 0.30,
        "median_return": 0.15,
        "stability": 0.15,
        "turnover": -0.10,
    }
    assert AUDIT_WEIGHTS == paper
    parameters = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/parameters_experts.yml").read_text()
    )
    assert parameters["experts"]["audit"]["weights"] == paper


def test_percentile_rank_scales_to_unit_interval_and_shares_ties():
    np.testing.assert_allclose(
        percentile_rank(np.array([3.0, 1.0, 2.0])), [1.0, 0.0, 0.5]
    )
    np.testing.assert_allclose(
        percentile_rank(np.array([1.0, 1.0, 2.0])), [0.25, 0.25, 1.0]
    )
    np.testing.assert_allclose(percentile_rank(np.array([np.nan, 0.0])), [0.0, 1.0])
    np.testing.assert_allclose(percentile_rank(np.array([5.0])), [1.0])


def candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "beats_benchmark": [0.7, 0.5, 0.3],
            "q05_return": [-0.01, -0.03, -0.05],
            "median_return": [0.02, 0.01, 0.00],
            "stability": [-0.01, -0.05, -0.20],
            "turnover": [0.01, 0.05, 0.10],
        }
    )


def test_a_candidate_best_on_everything_scores_the_sum_of_positive_weights():
    scored = robustness_scores(candidates())
    # best on every metric and least turnover: .30 + .30 + .15 + .15 - .10 * 0
    assert scored["score"].iloc[0] == pytest.approx(0.90)
    # worst on every metric and most turnover
    assert scored["score"].iloc[2] == pytest.approx(-0.10)
    assert scored["score"].iloc[1] == pytest.approx(0.5 * 0.90 - 0.5 * 0.10)
    assert scored["rank_turnover"].tolist() == [0.0, 0.5, 1.0]


def test_turnover_is_penalised_and_ranks_are_relative_to_the_update():
    table = candidates()
    table["turnover"] = [0.10, 0.05, 0.01]  # the best candidate now trades the most
    scored = robustness_scores(table)
    assert scored["score"].iloc[0] == pytest.approx(0.80)
    # scaling a metric for everyone leaves the ranks, hence the scores, unchanged
    scaled = table.assign(q05_return=table["q05_return"] * 10)
    np.testing.assert_allclose(robustness_scores(scaled)["score"], scored["score"])


def test_unknown_metric_in_the_weights_is_named():
    with pytest.raises(ValueError, match="sortino"):
        robustness_scores(candidates(), {"sortino": 1.0})


def test_window_returns_compound_the_bars_after_each_decision():
    returns = np.array([0.0, 0.1, -0.1, 0.2, 0.0, 0.05])
    decisions = np.array([True, False, True, False, True, True])
    # windows of 2 bars from decisions 0 and 2 fit; 4 needs bars 5 and 6
    np.testing.assert_allclose(
        window_returns(returns, decisions, 2), [1.1 * 0.9 - 1, 1.2 * 1.0 - 1]
    )
