"""The compiled risk rules against plain Python reference loops."""

from __future__ import annotations

import numpy as np
import pytest

from mm_drex.experts.kernels import apply_risk_rules, hysteresis, return_pieces
from mm_drex.experts.schema import Bars
from mm_drex.experts.templates import TEMPLATES


def run_rules(
    bars: Bars,
    target: np.ndarray,
    stop_loss: float = np.inf,
    trailing_stop: float = np.inf,
    rebalance_band: float = 0.0,
    drawdown: tuple[int, float, float] = (0, 1.0, 0.0),
    max_exposure: float = 1.0,
    max_turnover: float = 2.0,
) -> np.ndarray:
    gap, intraday, close_change = return_pieces(bars.open, bars.close)
    one = np.ones(1)
    return apply_risk_rules(
        np.ascontiguousarray(target, dtype=float)[:, None],
        gap,
        intraday,
        close_change,
        bars.cost_rate,
        bars.allow_short,
        one * stop_loss,
        one * trailing_stop,
        one * rebalance_band,
        np.array([drawdown[0]], dtype=np.int64),
        one * drawdown[1],
        one * drawdown[2],
        one * max_exposure,
        one * max_turnover,
    )[:, 0]


def trade_value(direction: float, fill: int, t: int, bars: Bars) -> float:
    """Value at the close of ``t`` of one unit of a trade filled at the open of
    ``fill``, written from prices: a long is worth close / fill price; a short
    is re-sized to -1 at every close (as the engine rebalances a constant
    target), so it compounds the negative of each bar's price change."""
    if direction > 0:
        return bars.close[t] / bars.open[fill]
    value = 2.0 - bars.close[fill] / bars.open[fill]
    for s in range(fill + 1, t + 1):
        value *= 2.0 - bars.close[s] / bars.close[s - 1]
    return value


def reference_stops(
    bars: Bars, target: np.ndarray, stop_loss: float, trailing_stop: float
) -> np.ndarray:
    """Stop-loss and trailing stop, one bar at a time, values recomputed from
    prices for every bar of the trade."""
    exposure = np.zeros(len(target))
    previous, before, fill, blocked = 0.0, 0.0, None, 0.0
    for t in range(len(target)):
        direction = np.sign(previous)
        if direction != 0:
            if np.sign(before) != direction:
                fill = t  # the decision at t-1 was filled at this open
            path = [trade_value(direction, fill, s, bars) for s in range(fill, t + 1)]
            best = max([1.0, *path])
            if path[-1] <= 1.0 - stop_loss or path[-1] <= best * (1.0 - trailing_stop):
                blocked = direction
        wanted = target[t]
        if blocked != 0:
            if np.sign(wanted) == blocked:
                wanted = 0.0
            else:
                blocked = 0.0
        exposure[t] = wanted
        before, previous = previous, wanted
    return exposure


def crossover_target(bars: Bars) -> np.ndarray:
    params = {"fast": 5, "slow": 30, "short_weight": 1.0, "stop_loss": 0.25}
    return TEMPLATES["ma_crossover"].sized_target(bars, params)


@pytest.mark.parametrize(
    ("market", "levels"),
    [("sp500_bars", (0.008, 0.012)), ("btc_bars", (0.05, 0.08))],
)
def test_stop_loss_and_trailing_stop_match_a_reference_loop(market, levels, request):
    bars = request.getfixturevalue(market).head(300)
    target = crossover_target(bars)
    low, high = levels
    for stop_loss, trailing_stop in [(low, np.inf), (np.inf, low), (low, high)]:
        expected = reference_stops(bars, target, stop_loss, trailing_stop)
        got = run_rules(bars, target, stop_loss=stop_loss, trailing_stop=trailing_stop)
        np.testing.assert_allclose(got, expected, rtol=0, atol=0)
        assert (got != target).sum() >= 3, "the stops must have fired"


def first_close_at_or_below(close: np.ndarray, level: float, start: int) -> int | None:
    hits = np.flatnonzero(close[start:] <= level)
    return start + int(hits[0]) if len(hits) else None


def test_stop_loss_is_measured_from_the_fill_at_the_next_open(sp500_bars):
    bars = sp500_bars.head(250)
    target = np.ones(
        len(bars)
    )  # long from the first close, filled at the open of bar 1
    fill_price, signal_close = bars.open[1], bars.close[0]
    told_apart = 0
    for stop_loss in np.linspace(0.002, 0.06, 59):
        exit_bar = first_close_at_or_below(bars.close, fill_price * (1 - stop_loss), 1)
        exposure = run_rules(bars, target, stop_loss=stop_loss)
        if exit_bar is None:
            assert (exposure == 1.0).all()
        else:
            # long until that close, flat from it on (the signal never resets)
            assert (exposure[:exit_bar] == 1.0).all() and (
                exposure[exit_bar:] == 0.0
            ).all()
        told_apart += exit_bar != first_close_at_or_below(
            bars.close, signal_close * (1 - stop_loss), 1
        )
    assert told_apart > 0, (
        "some level must separate the fill price from the signal close"
    )


def test_signal_reset_rearms_a_stopped_direction(sp500_bars):
    bars = sp500_bars.head(120)
    target = np.ones(len(bars))
    exposure = run_rules(bars, target, stop_loss=0.01)
    stop = int(np.argmax(exposure == 0.0))
    target[stop + 5] = 0.0  # the rule goes flat once, then long again
    rearmed = run_rules(bars, target, stop_loss=0.01)
    assert rearmed[stop + 6] == 1.0


def reference_drawdown_control(
    bars: Bars, target: np.ndarray, window: int, max_drawdown: float, floor: float
) -> np.ndarray:
    """Scale by the sleeve's drawdown from its rolling NAV peak, NAV from prices."""
    gap, intraday, _ = return_pieces(bars.open, bars.close)
    cost = bars.cost_rate
    exposure = np.zeros(len(target))
    navs = []
    nav, previous, before = 1.0, 0.0, 0.0
    for t in range(len(target)):
        nav = (
            nav
            * (1 + before * gap[t])
            * (1 - cost * abs(previous - before))
            * (1 + previous * intraday[t])
        )
        navs.append(nav)
        peak = max(navs[max(0, t - window + 1) :])
        scale = min(1.0, max(floor, 1.0 - (1.0 - nav / peak) / max_drawdown))
        exposure[t] = target[t] * scale
        before, previous = previous, exposure[t]
    return exposure


def test_drawdown_control_matches_a_reference_loop(wti_bars):
    target = np.ones(len(wti_bars))
    expected = reference_drawdown_control(wti_bars, target, 60, 0.15, 0.1)
    got = run_rules(wti_bars, target, drawdown=(60, 0.15, 0.1))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got.min() == 0.1 and got.max() == 1.0


def test_rebalance_band_skips_small_resizes_but_not_exits(sp500_bars):
    bars = sp500_bars.head(100)
    target = np.r_[np.full(30, 0.5), np.full(30, 0.56), np.full(20, 0.8), np.zeros(20)]
    exposure = run_rules(bars, target, rebalance_band=0.1)
    assert (exposure[:60] == 0.5).all()
    assert (exposure[60:80] == 0.8).all()
    assert (exposure[80:] == 0.0).all()


def test_turnover_bound_spreads_a_flip_over_two_bars(sp500_bars):
    bars = sp500_bars.head(10)
    target = np.r_[np.ones(5), -np.ones(5)]
    exposure = run_rules(bars, target, max_turnover=1.0)
    np.testing.assert_array_equal(exposure, [1, 1, 1, 1, 1, 0, -1, -1, -1, -1])


def test_hysteresis_holds_until_the_exit_and_lets_entries_flip():
    enter_long = np.array([0, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    exit_long = np.array([0, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    enter_short = np.array([0, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
    exit_short = np.array([1, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    direction = hysteresis(enter_long, exit_long, enter_short, exit_short)
    np.testing.assert_array_equal(direction, [0, 1, 1, 0, -1, -1, 0, 0])
