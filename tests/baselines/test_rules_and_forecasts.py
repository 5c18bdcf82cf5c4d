"""Rule baselines' selection and signals; the learned baselines' shared pieces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.baselines.base import segment_sharpe
from mm_drex.baselines.bollinger_reversion import BollingerReversion
from mm_drex.baselines.data import FeatureScaler, raw_features
from mm_drex.baselines.donchian_breakout import DonchianBreakout
from mm_drex.baselines.learned import probability_exposure
from mm_drex.baselines.macd_signal import MacdSignal
from mm_drex.baselines.rsi_reversal import RsiReversal
from mm_drex.baselines.rules import allowed_modes, apply_mode
from mm_drex.baselines.ts_momentum import TsMomentum, momentum_exposure
from mm_drex.features.indicators import rolling_volatility
from mm_drex.features.temporal import FeatureSpec

GRID_RULES = [MacdSignal, RsiReversal, BollingerReversion, DonchianBreakout, TsMomentum]


@pytest.mark.parametrize("rule", GRID_RULES, ids=lambda r: r.name)
def test_a_rule_keeps_the_grid_point_with_the_best_val_sharpe(rule, small_universe):
    history = small_universe[0]
    fitted = rule().fit(history.bars, history.segment, history.context)
    scores = []
    for params in fitted.grid():
        for mode in allowed_modes(
            ["long_flat", "long_short"], history.context.allow_short
        ):
            single = rule({**params, "modes": [mode]})
            single.fit(history.bars, history.segment, history.context)
            exposure = single.target_exposure(history.bars)
            score = segment_sharpe(
                exposure[:, None], history.bars, history.segment, history.context
            )[0]
            scores.append(
                (-np.inf if np.isnan(score) else score, {**params, "mode": mode})
            )
    best_score, best_params = max(scores, key=lambda item: item[0])
    assert fitted.selection_score() == pytest.approx(best_score)
    chosen = rule(
        fitted.selected_params() | {"modes": [fitted.selected_params()["mode"]]}
    )
    chosen.params.pop("mode")
    chosen.fit(history.bars, history.segment, history.context)
    np.testing.assert_array_equal(
        chosen.target_exposure(history.bars), fitted.target_exposure(history.bars)
    )
    assert (
        len({round(s, 9) for s, _ in scores if np.isfinite(s)}) > 1
    )  # it discriminates
    assert best_params["mode"] in ("long_flat", "long_short")


def test_an_unknown_rule_parameter_is_named():
    with pytest.raises(ValueError, match="unknown parameter.*lookbak"):
        TsMomentum({"lookbak": [20]}).grid()


def test_long_short_is_dropped_where_shorts_are_refused():
    assert allowed_modes(["long_flat", "long_short"], allow_short=False) == [
        "long_flat"
    ]
    assert allowed_modes("long_short", allow_short=False) == ["long_flat"]
    np.testing.assert_array_equal(
        apply_mode(np.array([[-1.0], [0.5], [np.nan]]), "long_flat"),
        [[0.0], [0.5], [0.0]],
    )


def test_momentum_is_sized_to_the_volatility_target(small_universe):
    close = small_universe[0].bars["close"].to_numpy()
    exposure = momentum_exposure(close, 60, 0.10, 20, 252)
    volatility = rolling_volatility(close, 20) * np.sqrt(252)
    t = np.arange(60, len(close))
    expected = np.sign(close[t] - close[t - 60]) * np.minimum(1.0, 0.10 / volatility[t])
    np.testing.assert_allclose(exposure[t], expected)
    assert (exposure[:60] == 0).all()  # no decision before the lookback exists
    assert np.abs(exposure).max() <= 1.0


def test_donchian_enters_when_the_close_beats_the_previous_channel():
    close = np.r_[np.full(30, 100.0), 101.0, 101.0, 95.0]
    bars = pd.DataFrame(
        {"open": close, "high": close + 0.5, "low": close - 0.5, "close": close}
    )
    signal = DonchianBreakout().signal(bars, [{"entry": 20, "exit": 2}])[:, 0]
    # bar 30 closes at 101 > the previous 20 bars' high of 100.5: long from its close
    assert (signal[:30] == 0).all() and signal[30] == 1.0 and signal[31] == 1.0
    # bar 32 closes at 95 < the previous 2 bars' low (100.5) and < the 20-bar low: short
    assert signal[32] == -1.0


def test_the_decision_band_turns_probabilities_into_exposures():
    p_up = np.array([0.60, 0.54, 0.50, 0.46, 0.40, 0.70])
    long_short = probability_exposure(p_up, [0.0, 0.05], "long_short", min_history=0)
    np.testing.assert_array_equal(long_short[:, 0], [1, 1, 0, -1, -1, 1])
    np.testing.assert_array_equal(long_short[:, 1], [1, 0, 0, 0, -1, 1])
    long_flat = probability_exposure(p_up, [0.05], "long_flat", min_history=2)
    np.testing.assert_array_equal(long_flat[:, 0], [0, 0, 0, 0, 0, 1])


def test_the_feature_scaler_is_fitted_on_train_rows_only(small_universe):
    history = small_universe[0]
    spec = FeatureSpec()
    raw = np.array(raw_features(history.bars, 252, spec))
    scaler = FeatureScaler.fit(raw, history.segment, "SP500", spec)
    altered = raw.copy()
    altered[history.segment != "train"] *= 10.0
    again = FeatureScaler.fit(altered, history.segment, "SP500", spec)
    pd.testing.assert_frame_equal(scaler.normaliser, again.normaliser)
    scaled = scaler.transform(raw)
    assert scaled.dtype == np.float32 and np.isfinite(scaled).all()
    assert np.abs(scaled).max() <= 5.0


def test_raw_features_are_memoised_by_the_bars_content(small_universe):
    bars = small_universe[0].bars
    spec = FeatureSpec()
    first = raw_features(bars, 252, spec)
    assert raw_features(bars.copy(), 252, spec) is first  # same prices: shared
    changed = bars.copy()
    changed.loc[len(bars) - 1, "close"] *= 1.5
    other = raw_features(changed, 252, spec)
    assert other is not first
    assert not np.array_equal(other[-1], first[-1], equal_nan=True)
    np.testing.assert_array_equal(other[:-1], first[:-1])
