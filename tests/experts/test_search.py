"""Pool search and audit: seeded, and blind to the data it must not see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.experts.search import SearchConfig
from tests.experts.conftest import CONFIG, pools_of


def perturbed(market_data: dict[str, pd.DataFrame], from_segment: str) -> dict:
    """Every bar from the start of ``from_segment`` on moved by a random factor."""
    ohlcv = market_data["ohlcv"].copy()
    starts = (
        market_data["split"].query("segment == @from_segment").set_index("instrument")
    )
    position = ohlcv.groupby("instrument", sort=False).cumcount()
    later = (position >= ohlcv["instrument"].map(starts["start_idx"])).to_numpy()
    factor = np.random.default_rng(0).uniform(0.8, 1.25, size=later.sum())
    for column in ("open", "high", "low", "close"):
        ohlcv.loc[later, column] *= factor
    ohlcv.loc[later, "volume"] *= 3.0
    return {**market_data, "ohlcv": ohlcv}


@pytest.fixture(scope="module")
def pools(small_pools) -> dict:
    return small_pools


def search_results(catalog: dict) -> list:
    """What the search (train only) decided: candidates and their train objective."""
    return [
        sorted(
            (c["template"], sorted(c["params"].items()), c["train_objective"])
            for c in pool["candidates"]
        )
        for pool in catalog["pools"]
    ]


def test_same_seed_same_pools(market_data, pools):
    assert pools_of(market_data) == pools
    other_seed = SearchConfig(**{**CONFIG.__dict__, "seed": 7})
    assert search_results(pools_of(market_data, other_seed)) != search_results(pools)


def test_pools_are_unchanged_when_the_test_segment_is_perturbed(market_data, pools):
    assert pools_of(perturbed(market_data, "test")) == pools


def test_search_never_reads_validation_bars_but_the_audit_does(market_data, pools):
    moved = pools_of(perturbed(market_data, "val"))
    assert search_results(moved) == search_results(pools)
    scores = [[c["score"] for c in p["candidates"]] for p in pools["pools"]]
    moved_scores = [[c["score"] for c in p["candidates"]] for p in moved["pools"]]
    assert moved_scores != scores
    assert moved["version"] != pools["version"]


def test_every_update_admits_stable_members_with_parameters_and_every_score(pools):
    assert pools["regimes"] == ["downtrend", "sideways", "uptrend"]
    expected_updates = {
        (expert, regime)
        for expert in ("trend", "reversal", "breakout", "positioning")
        for regime in pools["regimes"]
    }
    assert {(p["expert"], p["regime"]) for p in pools["pools"]} == expected_updates
    for pool in pools["pools"]:
        # only stable candidates are admitted (at most K); a pool without one
        # admits the first of the audit order alone and says so
        stable = [c for c in pool["candidates"] if c["stable"]]
        assert pool["n_stable_candidates"] == len(stable)
        if stable:
            assert pool["stable"]
            assert len(pool["members"]) == min(len(stable), CONFIG.pool_size)
            assert all(m["stable"] for m in pool["members"])
        else:
            assert not pool["stable"]
            assert [m["audit_rank"] for m in pool["members"]] == [1]
        for candidate in pool["candidates"]:
            means = candidate["block_means"]
            assert means and set(means) <= {"train", "val"}
            assert candidate["stable"] == all(v > 0 for v in means.values())
        assert len(pool["candidates"]) >= CONFIG.pool_size
        assert [m["audit_rank"] for m in pool["members"]] == sorted(
            m["audit_rank"] for m in pool["members"]
        )
        for member in pool["candidates"]:
            assert set(member["audit"]) >= {
                "beats_benchmark",
                "q05_return",
                "median_return",
                "stability",
                "turnover",
                "val_objective",
            }
            assert set(member["ranks"]) == set(CONFIG.audit_weights)
            weighted = sum(
                w * member["ranks"][m] for m, w in CONFIG.audit_weights.items()
            )
            assert member["score"] == pytest.approx(weighted)
            assert set(member["params"]) == {
                p for p in pools["templates"][member["template"]]["params"]
            }
    # every market has a scope for every regime: its own, or all markets together
    for regime in pools["regimes"]:
        assert set(pools["scopes"][regime]) == {"stocks", "futures", "crypto"}
        assert set(pools["scopes"][regime].values()) <= {
            "stocks",
            "futures",
            "crypto",
            "all",
        }
