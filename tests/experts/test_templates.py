"""The twelve templates: schema, causality (truncation), bounds and limits."""

from __future__ import annotations

import numpy as np
import pytest

from mm_drex.experts.schema import Bars, ParamRange, RiskLimits
from mm_drex.experts.templates import EXPERTS, TEMPLATES, expert_templates

CUTS = (130, 251, 333)


def sampled_params(template, n_sets: int = 4, seed: int = 7) -> list[dict]:
    """Seeded parameter sets across the ranges, plus the lower and upper corners."""
    rng = np.random.default_rng(seed)
    sets = [
        {p.name: p.snap(rng.uniform(p.low, p.high)) for p in template.params}
        for _ in range(n_sets)
    ]
    sets.append({p.name: p.snap(p.low) for p in template.params})
    sets.append({p.name: p.snap(p.high) for p in template.params})
    return sets


def test_every_expert_has_at_least_three_templates():
    for expert in EXPERTS:
        assert len(expert_templates(expert)) >= 3, expert
    assert {t.expert for t in TEMPLATES.values()} == set(EXPERTS)


@pytest.mark.parametrize("name", list(TEMPLATES))
@pytest.mark.parametrize("market", ["sp500_bars", "wti_bars", "btc_bars"])
def test_exposure_at_t_ignores_bars_after_t(name, market, request):
    bars: Bars = request.getfixturevalue(market)
    template = TEMPLATES[name]
    params = sampled_params(template)
    full = template.target_exposures(bars, params)
    assert np.abs(full).sum() > 0, "the check needs a strategy that trades"
    for cut in CUTS:
        truncated = template.target_exposures(bars.head(cut + 1), params)
        np.testing.assert_array_equal(truncated, full[: cut + 1])


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_exposures_are_finite_bounded_and_respect_the_turnover_bound(name, wti_bars):
    template = TEMPLATES[name]
    limits = RiskLimits(max_exposure=0.8, max_turnover=0.5)
    exposure = template.target_exposures(wti_bars, sampled_params(template), limits)
    assert np.isfinite(exposure).all()
    assert np.abs(exposure).max() <= 0.8 + 1e-12
    change = np.abs(np.diff(exposure, axis=0, prepend=0.0))
    assert change.max() <= 0.5 + 1e-12


def test_positioning_expert_is_long_only(sp500_bars):
    for template in expert_templates("positioning"):
        exposure = template.target_exposures(sp500_bars, sampled_params(template))
        assert exposure.min() >= 0.0, template.name


@pytest.mark.parametrize("name", ["ma_crossover", "rsi_fade", "donchian_breakout"])
def test_no_short_where_the_instrument_may_not_be_shorted(name, sp500_bars):
    template = TEMPLATES[name]
    params = [{**p, "short_weight": 1.0} for p in sampled_params(template)]
    shortable = template.target_exposures(sp500_bars, params)
    assert shortable.min() < 0.0
    long_only = Bars(
        "SP500 (no shorts)",
        sp500_bars.open,
        sp500_bars.high,
        sp500_bars.low,
        sp500_bars.close,
        sp500_bars.volume,
        allow_short=False,
    )
    assert template.target_exposures(long_only, params).min() >= 0.0


def test_short_weight_zero_makes_a_long_flat_rule(sp500_bars):
    template = TEMPLATES["ma_crossover"]
    params = {"fast": 10, "slow": 50, "short_weight": 0.0, "stop_loss": 0.25}
    exposure = template.target_exposure(sp500_bars, params)
    assert set(np.unique(exposure)) <= {0.0, 1.0}
    assert (exposure == 1.0).any() and (exposure == 0.0).any()


def test_volume_breakout_without_volume_uses_the_true_range(wti_bars):
    template = TEMPLATES["volume_breakout"]
    params = {
        "window": 20,
        "volume_window": 20,
        "volume_z": 0.5,
        "trailing_stop": 0.1,
        "short_weight": 1.0,
    }
    assert np.isnan(wti_bars.volume).all()
    assert np.abs(template.target_exposure(wti_bars, params)).sum() > 0


def test_param_range_snaps_to_its_grid_and_nudges_at_least_one_step():
    window = ParamRange("window", "int", 5, 30)
    assert window.snap(12.6) == 13 and window.snap(99) == 30
    assert window.nudge(10, 0.05) == 11 and window.nudge(10, -0.05) == 9
    level = ParamRange("level", "float", 10.0, 40.0, 1.0)
    assert level.snap(17.4) == 17.0
    assert level.nudge(17.0, 0.05) == 19.0 and level.nudge(17.0, -0.05) == 15.0
    fraction = ParamRange("fraction", "float", 0.0, 1.0)
    assert fraction.nudge(0.5, 0.05) == pytest.approx(0.55)
    assert fraction.nudge(0.99, 0.05) == 1.0


def test_template_names_missing_and_unknown_parameters(sp500_bars):
    template = TEMPLATES["rsi_fade"]
    with pytest.raises(
        ValueError, match=r"rsi_fade.*missing.*'upper'.*unknown.*'speed'"
    ):
        template.target_exposure(
            sp500_bars,
            {
                "window": 14,
                "lower": 30,
                "exit_level": 50,
                "short_weight": 1,
                "stop_loss": 0.1,
                "speed": 2,
            },
        )


def test_schema_is_plain_data_a_person_can_read():
    schema = TEMPLATES["macd_trend"].to_dict()
    assert schema["expert"] == "trend"
    assert schema["position"]["kind"] == "volatility_target"
    assert schema["params"]["fast"] == {
        "kind": "int",
        "low": 5,
        "high": 20,
        "step": None,
        "description": "fast EMA span",
    }
    assert "macd(fast, slow, signal)" in schema["indicators"]
