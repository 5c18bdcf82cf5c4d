"""The engine's accounting, timing and limits on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import ExposureLimits, ShortNotAllowedError, simulate
from mm_drex.backtest.engine import asset_returns

C = 10 * 1e-4  # 10 bps

# 5 bars: open, close. Decisions at each close: 1, 1, 0.5, 0, 0.
OPEN = np.array([100.0, 101.0, 103.0, 98.0, 100.0])
CLOSE = np.array([100.0, 102.0, 99.0, 100.0, 105.0])
TARGET = np.array([1.0, 1.0, 0.5, 0.0, 0.0])


def test_five_bar_example_has_the_hand_computed_fills_costs_and_nav():
    result = simulate(TARGET[:, None], OPEN, CLOSE, cost_bps=10.0)

    # Bar 1: buy from flat at the open: NAV_post = 1 / (1 + c), all of it in.
    y1 = 1 / (1 + C)
    nav1 = y1 * 102 / 101
    # Bar 2: stays fully long: no trade, NAV follows the close.
    nav2 = nav1 * 99 / 102
    # Bar 3: sell from 1 (no drift when fully invested) to 0.5 at the open 98.
    nav_pre3 = nav2 * 98 / 99
    y3 = (1 - C * 1.0) / (1 - C * 0.5)
    nav3 = nav_pre3 * y3 * (1 + 0.5 * (100 / 98 - 1))
    # Bar 4: the half position drifted with the close (100/98) to 50/99; sell it.
    held4 = 0.5 * (100 / 98) / (1 + 0.5 * (100 / 98 - 1))
    assert held4 == pytest.approx(50 / 99, rel=1e-15)
    y4 = 1 - C * held4
    nav4 = nav3 * y4

    np.testing.assert_array_equal(result.exposure[:, 0], [0, 1, 1, 0.5, 0])
    np.testing.assert_allclose(
        result.turnover[:, 0], [0, y1, 0, abs(0.5 * y3 - 1), held4], rtol=1e-13
    )
    np.testing.assert_allclose(result.cost[:, 0], C * result.turnover[:, 0], rtol=1e-13)
    np.testing.assert_allclose(
        result.nav[:, 0], [1, nav1, nav2, nav3, nav4], rtol=1e-13
    )
    expected_returns = [0, nav1 - 1, nav2 / nav1 - 1, nav3 / nav2 - 1, nav4 / nav3 - 1]
    np.testing.assert_allclose(result.net_return[:, 0], expected_returns, rtol=1e-12)
    # The decision at the last close is never executed.
    np.testing.assert_array_equal(result.projected_exposure[:-1, 0], TARGET[:-1])
    assert np.isnan(result.projected_exposure[-1, 0])


def test_cost_is_c_times_exposure_change_to_first_order():
    result = simulate(TARGET[:, None], OPEN, CLOSE, cost_bps=10.0)
    change = np.abs(np.diff(result.exposure[:, 0], prepend=0.0))
    # Bars 1 and 3 trade from an undrifted exposure; first order in c.
    np.testing.assert_allclose(result.cost[[1, 3], 0], C * change[[1, 3]], rtol=2 * C)


def test_decision_at_t_is_executed_at_the_next_open_and_ignores_later_bars():
    rng = np.random.default_rng(0)
    close = 100 * np.cumprod(1 + 0.01 * rng.standard_normal(60))
    open_ = close * (1 + 0.002 * rng.standard_normal(60))
    target = rng.uniform(-1, 1, size=(60, 3))
    full = simulate(target, open_, close, cost_bps=25.0)
    for cut in (5, 31, 59):
        truncated = simulate(target[:cut], open_[:cut], close[:cut], cost_bps=25.0)
        for name in ("exposure", "turnover", "cost", "net_return", "nav"):
            np.testing.assert_array_equal(
                getattr(truncated, name), getattr(full, name)[:cut], err_msg=name
            )
    # The return of bar t depends on the decision at t-1, not on the one at t.
    changed = target.copy()
    changed[30] = -changed[30]
    moved = simulate(changed, open_, close, cost_bps=25.0)
    np.testing.assert_array_equal(moved.net_return[:31], full.net_return[:31])
    assert not np.allclose(moved.net_return[31], full.net_return[31])


def test_shorts_and_sign_changes_pay_cost_on_the_whole_traded_notional():
    open_ = np.full(4, 50.0)
    close = np.full(4, 50.0)
    target = np.array([[-1.0], [1.0], [1.0], [1.0]])
    result = simulate(target, open_, close, cost_bps=10.0)
    # Bar 1: flat -> short 1: NAV = 1 - c * NAV  =>  1 / (1 + c)
    assert result.nav[1, 0] == pytest.approx(1 / (1 + C), rel=1e-15)
    # Bar 2: short 1 -> long 1: y = (1 - c) / (1 + c), and the traded notional
    # is the whole way from -1 to +y: turnover = y + 1 = 2 / (1 + c).
    assert result.nav[2, 0] == pytest.approx((1 - C) / (1 + C) ** 2, rel=1e-14)
    assert result.turnover[2, 0] == pytest.approx(2 / (1 + C), rel=1e-14)


def test_limit_projection_reports_what_each_limit_changed():
    # Flat prices: no drift, so each step is plain arithmetic.
    prices = np.full(5, 20.0)
    target = np.array([1.5, -0.7, 0.3, -2.0, 0.2])[:, None]
    limits = ExposureLimits(
        max_abs_exposure=1.0, gross_leverage=0.8, max_turnover_per_bar=0.5
    )
    result = simulate(target, prices, prices, cost_bps=0.0, limits=limits)

    np.testing.assert_allclose(result.delta_bounds[:, 0], [-0.5, 0, 0, 1.0, 0])
    np.testing.assert_allclose(result.delta_leverage[:, 0], [-0.2, 0, 0, 0.2, 0])
    # Executed at the next open, at most 0.5 away from the previous exposure:
    # 0 -> 0.5 (wanted 0.8), 0.5 -> 0.0 (wanted -0.7), 0.0 -> 0.3, 0.3 -> -0.2.
    np.testing.assert_allclose(result.exposure[:, 0], [0, 0.5, 0.0, 0.3, -0.2])
    np.testing.assert_allclose(
        result.delta_turnover[:-1, 0], [-0.3, 0.7, 0, 0.6], atol=1e-15
    )
    np.testing.assert_allclose(
        result.target_exposure[:-1, 0]
        + result.delta_bounds[:-1, 0]
        + result.delta_leverage[:-1, 0]
        + result.delta_turnover[:-1, 0],
        result.projected_exposure[:-1, 0],
        atol=1e-15,
    )
    assert np.isnan(result.delta_turnover[-1, 0])


def test_turnover_cap_measures_change_from_the_drifted_exposure():
    open_ = np.array([10.0, 10.0, 20.0])
    close = np.array([10.0, 20.0, 20.0])
    target = np.array([[0.5], [0.5], [0.5]])
    limits = ExposureLimits(max_turnover_per_bar=0.1)
    result = simulate(target, open_, close, cost_bps=0.0, limits=limits)
    # Bar 1 buys 0.1; it doubles intraday, so 0.2 / 1.1 is held before bar 2.
    drifted = 0.1 * 2 / (1 + 0.1)
    assert result.exposure[2, 0] == pytest.approx(drifted + 0.1, rel=1e-15)


def test_short_on_an_instrument_that_disallows_shorts_is_refused():
    prices = np.array([10.0, 10.5, 10.2, 10.4])
    target = np.array([[-0.5], [0.5], [-1.0], [0.0]])
    result = simulate(target, prices, prices, allow_short=False)
    np.testing.assert_array_equal(result.projected_exposure[:-1, 0], [0, 0.5, 0])
    np.testing.assert_array_equal(result.delta_bounds[:, 0], [0.5, 0, 1.0, 0])
    assert (result.exposure >= 0).all()

    with pytest.raises(
        ShortNotAllowedError, match=r"instrument WTI.*2020-04-21.*-0\.5"
    ):
        simulate(
            target,
            prices,
            prices,
            allow_short=False,
            limits=ExposureLimits(short_refusal="error"),
            timestamps=list(pd.date_range("2020-04-21", periods=4)),
            instruments=["WTI"],
            sleeves=["mm_drex/seed 42"],
        )


def test_a_sleeve_wiped_out_by_a_floored_return_stays_at_zero():
    # WTI front month around 2020-04-20 (settlements, used as open and close).
    prices = np.array([20.0, 18.27, -37.63, 10.01, 12.0])
    result = simulate(np.ones((5, 1)), prices, prices, cost_bps=10.0)
    assert result.nav[2, 0] == 0.0
    assert result.net_return[2, 0] == -1.0
    np.testing.assert_array_equal(result.nav[2:, 0], 0.0)
    np.testing.assert_array_equal(result.net_return[3:, 0], 0.0)
    np.testing.assert_array_equal(result.cost[3:, 0], 0.0)


def test_instruments_on_one_calendar_give_the_same_as_one_at_a_time():
    rng = np.random.default_rng(1)
    prices = 50 * np.cumprod(1 + 0.02 * rng.standard_normal((40, 2)), axis=0)
    target = rng.uniform(-1, 1, size=(40, 2, 4))
    costs = np.array([5.0, 30.0])
    allow = np.array([True, False])
    together = simulate(target, prices, prices, costs, allow)
    for n in range(2):
        alone = simulate(target[:, n], prices[:, n], prices[:, n], costs[n], allow[n])
        np.testing.assert_array_equal(alone.nav, together.nav[:, n])


def test_non_finite_target_is_rejected_with_its_position():
    target = np.zeros((4, 2))
    target[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"instrument SP500, timestamp 2.*sleeve b"):
        simulate(
            target,
            np.ones(4),
            np.ones(4),
            timestamps=[0, 1, 2, 3],
            instruments=["SP500"],
            sleeves=["a", "b"],
        )


def test_asset_returns_split_the_bar_at_the_open():
    overnight, intraday = asset_returns(OPEN, CLOSE)
    np.testing.assert_allclose(overnight, [0, 0.01, 103 / 102 - 1, 98 / 99 - 1, 0])
    np.testing.assert_allclose(intraday, CLOSE / OPEN - 1)
