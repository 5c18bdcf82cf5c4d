"""Every registered baseline: point-in-time exposures, bounds, seeds, no test reads.

Each baseline is fitted ONCE on the full small universe (test configuration)
and then asked for exposures on histories cut after bar ``t``: the fitted
model is fixed, so any difference would mean that the exposure at ``t`` used
a bar after ``t``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import simulate
from mm_drex.baselines import BASELINES, Baseline
from mm_drex.baselines.data import InstrumentData
from mm_drex.baselines.runner import fit_baseline, strategy_parameters
from mm_drex.baselines.towers import RenderedTowerEmbeddings

PAPER_BASELINES = [
    "buy_hold",
    "sma_crossover",
    "macd_signal",
    "rsi_reversal",
    "bollinger_reversion",
    "donchian_breakout",
    "ts_momentum",
    "technical_search",
    "gradient_boosting",
    "lstm_forecaster",
    "transformer_forecaster",
    "ppo_agent",
    "a2c_agent",
    "dqn_agent",
    "llmoe_router",
]
STOCHASTIC = [name for name in PAPER_BASELINES if not BASELINES[name].deterministic]
CUTS = (99, 180, 250, 300, 360, 419)


@pytest.fixture(scope="module")
def resources() -> dict:
    # The LLMoE router reads charts and text views rendered from the very bars
    # it is given: the truncation test then covers its multimodal inputs too.
    return {"tower_embeddings": RenderedTowerEmbeddings(window=100)}


def fit_all(
    histories: list[InstrumentData], params: dict, resources: dict, seed: int = 42
) -> dict[str, dict[str, Baseline]]:
    """``{baseline: {instrument: fitted}}`` for every registered baseline."""
    return {
        name: fit_baseline(
            BASELINES[name],
            strategy_parameters(params, name),
            seed,
            histories,
            resources=resources,
        )
        for name in PAPER_BASELINES
    }


@pytest.fixture(scope="module")
def fitted(small_universe, baseline_params, resources):
    return fit_all(small_universe, baseline_params, resources)


@pytest.fixture(scope="module")
def full_exposures(fitted, small_universe) -> dict[str, dict[str, np.ndarray]]:
    return {
        name: {
            h.instrument: models[h.instrument].target_exposure(h.bars)
            for h in small_universe
        }
        for name, models in fitted.items()
    }


def test_the_registry_holds_the_fifteen_baselines_of_the_paper():
    assert list(BASELINES) == PAPER_BASELINES
    for name, baseline_class in BASELINES.items():
        assert issubclass(baseline_class, Baseline)
        assert baseline_class.name == name
    # deep models and agents run several seeds; the rules are deterministic
    assert STOCHASTIC == [
        "lstm_forecaster",
        "transformer_forecaster",
        "ppo_agent",
        "a2c_agent",
        "dqn_agent",
        "llmoe_router",
    ]


@pytest.mark.parametrize("name", PAPER_BASELINES)
def test_exposure_at_t_ignores_bars_after_t(
    name, fitted, full_exposures, small_universe
):
    for history in small_universe:
        model = fitted[name][history.instrument]
        full = full_exposures[name][history.instrument]
        for cut in CUTS:
            truncated = model.target_exposure(history.bars.iloc[: cut + 1])
            np.testing.assert_array_equal(
                truncated,
                full[: cut + 1],
                err_msg=f"{name}, {history.instrument}: exposure changed when the "
                f"bars after t={cut} were removed",
            )


@pytest.mark.parametrize("name", PAPER_BASELINES)
def test_exposures_stay_within_bounds_and_never_short_where_refused(
    name, full_exposures, small_universe
):
    for history in small_universe:
        exposure = full_exposures[name][history.instrument]
        context = history.context
        assert exposure.shape == (len(history.bars),)
        assert np.isfinite(exposure).all()
        assert np.abs(exposure).max() <= 1.0
        if not context.allow_short:
            assert exposure.min() >= 0.0, f"{name} shorts {history.instrument}"
        result = simulate(
            exposure[:, None],
            history.bars["open"].to_numpy(),
            history.bars["close"].to_numpy(),
            cost_bps=context.cost_bps,
            allow_short=context.allow_short,
            limits=context.limits,
        )
        # the projection had nothing to cut: every decision was already allowed
        assert np.all(result.delta_bounds == 0.0)
        executed = result.exposure[:, 0]
        assert executed.min() >= (-1.0 if context.allow_short else 0.0)
    # the test segment is traded: at least one instrument is exposed there
    test_exposure = [
        full_exposures[name][h.instrument][h.segment == "test"] for h in small_universe
    ]
    assert any(np.any(e != 0) for e in test_exposure), f"{name} never trades on test"


@pytest.mark.parametrize("name", STOCHASTIC + ["technical_search"])
def test_the_same_seed_gives_the_same_exposures(
    name, baseline_params, resources, small_universe, full_exposures
):
    again = fit_baseline(
        BASELINES[name],
        strategy_parameters(baseline_params, name),
        42,
        small_universe,
        resources=resources,
    )
    for history in small_universe:
        np.testing.assert_array_equal(
            again[history.instrument].target_exposure(history.bars),
            full_exposures[name][history.instrument],
        )


def _scramble_test_segment(history: InstrumentData, seed: int) -> InstrumentData:
    bars = history.bars.copy()
    test = history.segment == "test"
    factor = np.random.default_rng(seed).uniform(0.7, 1.3, test.sum())
    for column in ("open", "high", "low", "close"):
        bars.loc[test, column] = bars.loc[test, column].to_numpy() * factor
    bars.loc[test, "volume"] = bars.loc[test, "volume"].to_numpy()[::-1]
    return InstrumentData(bars, history.segment, history.context)


def test_fitting_never_reads_the_test_segment(
    baseline_params, resources, small_universe, full_exposures
):
    scrambled = [_scramble_test_segment(h, i) for i, h in enumerate(small_universe)]
    refitted = fit_all(scrambled, baseline_params, resources)
    for name, models in refitted.items():
        for history in scrambled:
            before_test = np.flatnonzero(history.segment == "test")[0]
            exposure = models[history.instrument].target_exposure(history.bars)
            np.testing.assert_array_equal(
                exposure[:before_test],
                full_exposures[name][history.instrument][:before_test],
                err_msg=f"{name}, {history.instrument}: the fit changed with test prices",
            )


def test_a_pooled_baseline_refuses_an_instrument_it_was_not_fitted_on(
    fitted, small_universe
):
    model = fitted["lstm_forecaster"]["SP500"]
    other = small_universe[0].bars.assign(instrument="NASDAQ")
    with pytest.raises(ValueError, match="not on instrument NASDAQ"):
        model.target_exposure(other)


def test_selection_records_name_the_chosen_parameters(fitted):
    rules = fitted["ts_momentum"]["SP500"].selected_params()
    assert {"lookback", "target_vol", "vol_window", "mode"} <= set(rules)
    search = fitted["technical_search"]["SP500"].selected_params()
    from mm_drex.experts.templates import TEMPLATES

    assert search["template"] in TEMPLATES
    lstm = fitted["lstm_forecaster"]["WTI"].selected_params("WTI")
    assert lstm["mode"] == "long_flat"  # WTI refuses shorts here
    assert lstm["pool"] == ["SP500", "WTI"] and lstm["epoch"] >= 1
    assert pd.notna(
        fitted["ppo_agent"]["SP500"].selected_params()["checkpoint_timesteps"]
    )


def test_the_llmoe_router_trades_all_in_or_all_out(full_exposures, fitted):
    for exposure in full_exposures["llmoe_router"].values():
        assert set(np.unique(exposure)) <= {0.0, 1.0}
    shared = fitted["llmoe_router"]["SP500"].shared_params()
    assert set(shared["expert_train_rows"]) == {"pessimistic", "optimistic"}
