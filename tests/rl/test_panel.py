"""The RL panel: router outputs, experts' exposures and pool priors per decision."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mm_drex.experts.pools import member_weights
from mm_drex.experts.templates import EXPERTS
from mm_drex.rl.panel import PanelInputError, build_panel, pool_priors
from tests.market_panel import MARKETS, make_panel


def test_panel_expert_exposure_is_its_pools_mixed_by_the_prior(rl_panel):
    for expert in EXPERTS:
        rebuilt = sum(
            rl_panel[f"prior_{expert}_{r}"] * rl_panel[f"h_{expert}_{r}"]
            for r in ("downtrend", "sideways", "uptrend")
        )
        np.testing.assert_allclose(rebuilt, rl_panel[f"h_{expert}"], atol=1e-15)
    assert (
        rl_panel.groupby("instrument")["t"].min().eq(99).all()
    )  # the first charted bar


def test_panel_names_the_missing_router_row(rl_inputs):
    broken = dataclasses.replace(
        rl_inputs, router_states=rl_inputs.router_states.iloc[5:]
    )
    with pytest.raises(
        PanelInputError,
        match="router_states: no row for decision point instrument SP500",
    ):
        make_panel(broken)


def test_pool_priors_are_the_regime_shares_of_the_audit_score_mix():
    members = [
        {"member_id": f"m{i}", "template": "x", "params": {}, "score": s}
        for i, s in enumerate((0.9, 0.4, 0.7))
    ]
    catalog = {
        "regimes": ["downtrend", "sideways", "uptrend"],
        "scopes": {
            r: {"stocks": "stocks"} for r in ("downtrend", "sideways", "uptrend")
        },
        "pools": [
            {"expert": e, "regime": r, "scope": "stocks", "members": [members[i]]}
            for e in EXPERTS
            for i, r in enumerate(("downtrend", "sideways", "uptrend"))
        ],
    }
    instruments = pd.DataFrame({"instrument": ["SP500"], "asset_class": ["index"]})
    priors = pool_priors(catalog, instruments, {"stocks": ["index"]}, "market", 0.2)
    expected = member_weights(np.array([0.9, 0.4, 0.7]), 0.2)
    got = priors[
        ["prior_trend_downtrend", "prior_trend_sideways", "prior_trend_uptrend"]
    ].to_numpy()[0]
    np.testing.assert_allclose(got, expected)


def test_build_panel_keeps_other_routers_weights_where_they_exist(rl_inputs):
    other = rl_inputs.router_weights.iloc[200:].copy()
    panel = build_panel(
        rl_inputs.router_weights,
        rl_inputs.router_states,
        rl_inputs.expert_exposures,
        rl_inputs.ohlcv,
        rl_inputs.instruments,
        rl_inputs.split,
        rl_inputs.chart_index,
        rl_inputs.regimes,
        rl_inputs.priors,
        MARKETS,
        extra_weights={"no_chart": other},
    )
    assert panel["w_no_chart_trend"].notna().sum() == len(other)
