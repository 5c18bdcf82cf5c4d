"""The twelve sub-strategy templates of the four experts.

trend       : moving-average crossover, time-series momentum, MACD trend
              with volatility targeting;
reversal    : RSI fade, Bollinger-band reversion, KDJ reversion;
breakout    : Donchian channel breakout, ATR channel breakout,
              volume-confirmed breakout with a trailing stop;
positioning : (defensive, long-only exposure control) volatility targeting,
              drawdown control, core holding scaled by trend strength.

Every direction function reads the shared causal indicators through
:meth:`Bars.indicator`; a comparison with a channel of *previous* bars uses
the channel at ``t-1`` so that bar ``t`` is compared with the bars before it.
Indicator warm-up (NaN) compares as False, i.e. flat.
"""

from __future__ import annotations

import numpy as np

from mm_drex.experts.kernels import hysteresis
from mm_drex.experts.schema import (
    Bars,
    EntryExitRule,
    IndicatorSpec,
    ParamRange,
    Params,
    PositionRule,
    RiskRule,
    SubStrategyTemplate,
)
from mm_drex.features.indicators import rolling_zscore

EXPERTS = ("trend", "reversal", "breakout", "positioning")


def _previous(x: np.ndarray) -> np.ndarray:
    """``x[t-1]`` at ``t`` (NaN at the first bar)."""
    out = np.full(len(x), np.nan)
    out[1:] = x[:-1]
    return out


def _sign(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.sign(x), nan=0.0)


def _short_weight() -> ParamRange:
    return ParamRange(
        "short_weight",
        "float",
        0.0,
        1.0,
        0.05,
        "size of the short side (0 = long/flat)",
    )


def _stop_loss() -> ParamRange:
    return ParamRange(
        "stop_loss", "float", 0.02, 0.25, 0.005, "exit after this loss since the fill"
    )


def _target_vol() -> ParamRange:
    return ParamRange(
        "target_vol", "float", 0.05, 0.50, 0.01, "annualised volatility target"
    )


def _vol_window() -> ParamRange:
    return ParamRange("vol_window", "int", 10, 120, None, "bars of realised volatility")


# ---- trend ------------------------------------------------------------------


def _ma_crossover(bars: Bars, p: Params) -> np.ndarray:
    fast = int(p["fast"])
    slow = max(int(p["slow"]), fast + 5)
    return _sign(bars.indicator("sma", fast) - bars.indicator("sma", slow))


def _ts_momentum(bars: Bars, p: Params) -> np.ndarray:
    lookback = int(p["lookback"])
    change = np.full(len(bars), np.nan)
    change[lookback:] = bars.close[lookback:] - bars.close[:-lookback]
    return _sign(change)


def _macd_trend(bars: Bars, p: Params) -> np.ndarray:
    fast = int(p["fast"])
    slow = max(int(p["slow"]), fast + 5)
    line, signal, _ = bars.indicator("macd", fast, slow, int(p["signal"]))
    long = (line > 0.0) & (line > signal)
    short = (line < 0.0) & (line < signal)
    return long.astype(float) - short.astype(float)


MA_CROSSOVER = SubStrategyTemplate(
    name="ma_crossover",
    expert="trend",
    description="Long while the fast SMA is above the slow SMA, short below it.",
    indicators=(IndicatorSpec("sma", ("fast",)), IndicatorSpec("sma", ("slow",))),
    entry_exit=EntryExitRule(
        entry_long="sma(fast) > sma(slow)",
        exit_long="sma(fast) <= sma(slow) or stop-loss",
        entry_short="sma(fast) < sma(slow)",
        exit_short="sma(fast) >= sma(slow) or stop-loss",
        direction=_ma_crossover,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(stop_loss="stop_loss"),
    params=(
        ParamRange("fast", "int", 5, 60, None, "fast SMA window"),
        ParamRange("slow", "int", 30, 250, None, "slow SMA window (>= fast + 5)"),
        _short_weight(),
        _stop_loss(),
    ),
)

TS_MOMENTUM = SubStrategyTemplate(
    name="ts_momentum",
    expert="trend",
    description="Time-series momentum: the sign of the lookback price change, "
    "sized to a volatility target.",
    indicators=(
        IndicatorSpec("close change", ("lookback",)),
        IndicatorSpec("rolling_volatility", ("vol_window",)),
    ),
    entry_exit=EntryExitRule(
        entry_long="close[t] > close[t-lookback]",
        exit_long="close[t] <= close[t-lookback]",
        entry_short="close[t] < close[t-lookback]",
        exit_short="close[t] >= close[t-lookback]",
        direction=_ts_momentum,
    ),
    position=PositionRule(
        "volatility_target",
        short_weight="short_weight",
        target_vol="target_vol",
        vol_window="vol_window",
    ),
    risk=RiskRule(),
    params=(
        ParamRange("lookback", "int", 20, 250, None, "momentum lookback in bars"),
        _vol_window(),
        _target_vol(),
        _short_weight(),
    ),
)

MACD_TREND = SubStrategyTemplate(
    name="macd_trend",
    expert="trend",
    description="MACD trend: long when the MACD line is above zero and above its "
    "signal line, short in the mirror case, sized to a volatility target.",
    indicators=(
        IndicatorSpec("macd", ("fast", "slow", "signal")),
        IndicatorSpec("rolling_volatility", ("vol_window",)),
    ),
    entry_exit=EntryExitRule(
        entry_long="macd > 0 and macd > signal",
        exit_long="macd <= 0 or macd <= signal",
        entry_short="macd < 0 and macd < signal",
        exit_short="macd >= 0 or macd >= signal",
        direction=_macd_trend,
    ),
    position=PositionRule(
        "volatility_target",
        short_weight="short_weight",
        target_vol="target_vol",
        vol_window="vol_window",
    ),
    risk=RiskRule(),
    params=(
        ParamRange("fast", "int", 5, 20, None, "fast EMA span"),
        ParamRange("slow", "int", 21, 80, None, "slow EMA span"),
        ParamRange("signal", "int", 3, 20, None, "signal EMA span"),
        _vol_window(),
        _target_vol(),
        _short_weight(),
    ),
)

# ---- reversal ---------------------------------------------------------------


def _rsi_fade(bars: Bars, p: Params) -> np.ndarray:
    value = bars.indicator("rsi", int(p["window"]))
    exit_level = float(p["exit_level"])
    return hysteresis(
        value < float(p["lower"]),
        value >= exit_level,
        value > float(p["upper"]),
        value <= exit_level,
    )


def _bollinger_reversion(bars: Bars, p: Params) -> np.ndarray:
    middle, upper, lower = bars.indicator(
        "bollinger", int(p["window"]), float(p["num_std"])
    )
    close = bars.close
    return hysteresis(close < lower, close >= middle, close > upper, close <= middle)


def _kdj_reversion(bars: Bars, p: Params) -> np.ndarray:
    _, _, j = bars.indicator("kdj", int(p["window"]), 3, 3)
    return hysteresis(
        j < float(p["lower"]), j >= 50.0, j > float(p["upper"]), j <= 50.0
    )


RSI_FADE = SubStrategyTemplate(
    name="rsi_fade",
    expert="reversal",
    description="Buy an oversold RSI, sell an overbought one, exit when it "
    "returns to the exit level.",
    indicators=(IndicatorSpec("rsi", ("window",)),),
    entry_exit=EntryExitRule(
        entry_long="rsi < lower",
        exit_long="rsi >= exit_level or stop-loss",
        entry_short="rsi > upper",
        exit_short="rsi <= exit_level or stop-loss",
        direction=_rsi_fade,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(stop_loss="stop_loss"),
    params=(
        ParamRange("window", "int", 2, 30, None, "RSI window (Wilder)"),
        ParamRange("lower", "float", 10.0, 40.0, 1.0, "oversold level"),
        ParamRange("upper", "float", 60.0, 90.0, 1.0, "overbought level"),
        ParamRange("exit_level", "float", 40.0, 60.0, 1.0, "RSI level that closes"),
        _short_weight(),
        _stop_loss(),
    ),
)

BOLLINGER_REVERSION = SubStrategyTemplate(
    name="bollinger_reversion",
    expert="reversal",
    description="Buy a close below the lower Bollinger band, sell one above the "
    "upper band, exit at the middle band.",
    indicators=(IndicatorSpec("bollinger", ("window", "num_std")),),
    entry_exit=EntryExitRule(
        entry_long="close < lower band",
        exit_long="close >= middle band or stop-loss",
        entry_short="close > upper band",
        exit_short="close <= middle band or stop-loss",
        direction=_bollinger_reversion,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(stop_loss="stop_loss"),
    params=(
        ParamRange("window", "int", 10, 80, None, "band window"),
        ParamRange("num_std", "float", 1.0, 3.0, 0.05, "band width in std"),
        _short_weight(),
        _stop_loss(),
    ),
)

KDJ_REVERSION = SubStrategyTemplate(
    name="kdj_reversion",
    expert="reversal",
    description="Buy when KDJ's J line is oversold, sell when it is overbought, "
    "exit when J crosses 50.",
    indicators=(IndicatorSpec("kdj", ("window",)),),
    entry_exit=EntryExitRule(
        entry_long="J < lower",
        exit_long="J >= 50 or stop-loss",
        entry_short="J > upper",
        exit_short="J <= 50 or stop-loss",
        direction=_kdj_reversion,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(stop_loss="stop_loss"),
    params=(
        ParamRange("window", "int", 5, 30, None, "KDJ window (K, D smoothing 3)"),
        ParamRange("lower", "float", -20.0, 20.0, 1.0, "oversold J"),
        ParamRange("upper", "float", 80.0, 120.0, 1.0, "overbought J"),
        _short_weight(),
        _stop_loss(),
    ),
)

# ---- breakout ---------------------------------------------------------------


def _donchian_breakout(bars: Bars, p: Params) -> np.ndarray:
    upper, lower = bars.indicator("donchian", int(p["entry_window"]))
    exit_upper, exit_lower = bars.indicator("donchian", int(p["exit_window"]))
    close = bars.close
    return hysteresis(
        close > _previous(upper),
        close < _previous(exit_lower),
        close < _previous(lower),
        close > _previous(exit_upper),
    )


def _atr_channel_breakout(bars: Bars, p: Params) -> np.ndarray:
    centre = bars.indicator("ema", int(p["centre_window"]))
    width = float(p["band_atr"]) * bars.indicator("atr", int(p["atr_window"]))
    close = bars.close
    return hysteresis(
        close > centre + width, close < centre, close < centre - width, close > centre
    )


def _true_range(bars: Bars) -> np.ndarray:
    true_range = bars.high - bars.low
    previous_close = _previous(bars.close)
    return np.fmax(
        true_range,
        np.fmax(np.abs(bars.high - previous_close), np.abs(bars.low - previous_close)),
    )


def _activity_zscore(bars: Bars, window: int) -> np.ndarray:
    """Volume z-score; where an instrument has no volume (WTI), the z-score of
    the true range stands in as the participation measure."""
    key = ("activity_zscore", window)
    if key not in bars._cache:
        volume_z = bars.indicator("volume_zscore", window)
        range_z = rolling_zscore(_true_range(bars), window)
        bars._cache[key] = np.where(np.isnan(bars.volume), range_z, volume_z)
    return bars._cache[key]


def _volume_breakout(bars: Bars, p: Params) -> np.ndarray:
    window = int(p["window"])
    upper, lower = bars.indicator("donchian", window)
    exit_upper, exit_lower = bars.indicator("donchian", max(2, window // 2))
    confirmed = _activity_zscore(bars, int(p["volume_window"])) > float(p["volume_z"])
    close = bars.close
    return hysteresis(
        (close > _previous(upper)) & confirmed,
        close < _previous(exit_lower),
        (close < _previous(lower)) & confirmed,
        close > _previous(exit_upper),
    )


DONCHIAN_BREAKOUT = SubStrategyTemplate(
    name="donchian_breakout",
    expert="breakout",
    description="Turtle-style: enter on a close beyond the previous entry_window "
    "channel, exit on a close beyond the opposite exit_window channel.",
    indicators=(
        IndicatorSpec("donchian", ("entry_window",)),
        IndicatorSpec("donchian", ("exit_window",)),
    ),
    entry_exit=EntryExitRule(
        entry_long="close > highest high of the previous entry_window bars",
        exit_long="close < lowest low of the previous exit_window bars or stop-loss",
        entry_short="close < lowest low of the previous entry_window bars",
        exit_short="close > highest high of the previous exit_window bars or stop-loss",
        direction=_donchian_breakout,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(stop_loss="stop_loss"),
    params=(
        ParamRange("entry_window", "int", 10, 120, None, "entry channel"),
        ParamRange("exit_window", "int", 5, 60, None, "exit channel"),
        _short_weight(),
        _stop_loss(),
    ),
)

ATR_CHANNEL_BREAKOUT = SubStrategyTemplate(
    name="atr_channel_breakout",
    expert="breakout",
    description="Keltner-style: enter on a close beyond EMA +/- band_atr * ATR, "
    "exit on a close back through the EMA.",
    indicators=(
        IndicatorSpec("ema", ("centre_window",)),
        IndicatorSpec("atr", ("atr_window",)),
    ),
    entry_exit=EntryExitRule(
        entry_long="close > ema + band_atr * atr",
        exit_long="close < ema or stop-loss",
        entry_short="close < ema - band_atr * atr",
        exit_short="close > ema or stop-loss",
        direction=_atr_channel_breakout,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(stop_loss="stop_loss"),
    params=(
        ParamRange("centre_window", "int", 10, 120, None, "EMA span of the centre"),
        ParamRange("atr_window", "int", 5, 50, None, "ATR window (Wilder)"),
        ParamRange("band_atr", "float", 0.5, 4.0, 0.05, "band half-width in ATRs"),
        _short_weight(),
        _stop_loss(),
    ),
)

VOLUME_BREAKOUT = SubStrategyTemplate(
    name="volume_breakout",
    expert="breakout",
    description="Enter on a channel breakout confirmed by a volume z-score "
    "(true-range z-score where there is no volume); a trailing stop or the "
    "half-window opposite channel exits.",
    indicators=(
        IndicatorSpec("donchian", ("window",)),
        IndicatorSpec("volume_zscore", ("volume_window",)),
    ),
    entry_exit=EntryExitRule(
        entry_long="close > highest high of the previous window bars and "
        "volume z-score > volume_z",
        exit_long="close < lowest low of the previous window/2 bars or trailing stop",
        entry_short="close < lowest low of the previous window bars and "
        "volume z-score > volume_z",
        exit_short="close > highest high of the previous window/2 bars or trailing stop",
        direction=_volume_breakout,
    ),
    position=PositionRule("long_flat_short", short_weight="short_weight"),
    risk=RiskRule(trailing_stop="trailing_stop"),
    params=(
        ParamRange("window", "int", 10, 120, None, "breakout channel"),
        ParamRange("volume_window", "int", 10, 60, None, "volume z-score window"),
        ParamRange("volume_z", "float", 0.0, 3.0, 0.05, "confirmation threshold"),
        ParamRange("trailing_stop", "float", 0.03, 0.30, 0.005, "give-back that exits"),
        _short_weight(),
    ),
)

# ---- positioning (defensive, long-only) -------------------------------------


def _always_long(bars: Bars, p: Params) -> np.ndarray:
    return np.ones(len(bars))


def _core_holding(bars: Bars, p: Params) -> np.ndarray:
    fast = int(p["fast"])
    slow = max(int(p["slow"]), fast + 5)
    spread = bars.indicator("sma", fast) - bars.indicator("sma", slow)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = spread / (float(p["sensitivity"]) * bars.indicator("atr", 20))
    strength = np.clip(np.nan_to_num(strength, nan=0.0), -1.0, 1.0)
    core = float(p["core"])
    return np.clip(core + (1.0 - core) * strength, 0.0, 1.0)


VOLATILITY_TARGETING = SubStrategyTemplate(
    name="volatility_targeting",
    expert="positioning",
    description="Long, sized to target_vol / realised volatility (at most 1); "
    "resizes smaller than the rebalance band are skipped.",
    indicators=(IndicatorSpec("rolling_volatility", ("vol_window",)),),
    entry_exit=EntryExitRule(
        entry_long="volatility estimate available",
        exit_long="never (size only)",
        entry_short="never",
        exit_short="never",
        direction=_always_long,
    ),
    position=PositionRule(
        "volatility_target", target_vol="target_vol", vol_window="vol_window"
    ),
    risk=RiskRule(rebalance_band="rebalance_band"),
    params=(
        _vol_window(),
        _target_vol(),
        ParamRange(
            "rebalance_band", "float", 0.0, 0.25, 0.01, "smallest resize traded"
        ),
    ),
)

DRAWDOWN_CONTROL = SubStrategyTemplate(
    name="drawdown_control",
    expert="positioning",
    description="Long, cut in proportion to the sleeve's own drawdown from its "
    "peak over drawdown_window bars: exposure = clip(1 - dd / max_drawdown, "
    "drawdown_floor, 1); resizes smaller than the rebalance band are skipped.",
    indicators=(IndicatorSpec("sleeve NAV peak", ("drawdown_window",)),),
    entry_exit=EntryExitRule(
        entry_long="always",
        exit_long="never (size only)",
        entry_short="never",
        exit_short="never",
        direction=_always_long,
    ),
    position=PositionRule("long_flat"),
    risk=RiskRule(
        drawdown_window="drawdown_window",
        max_drawdown="max_drawdown",
        drawdown_floor="drawdown_floor",
        rebalance_band="rebalance_band",
    ),
    params=(
        ParamRange("drawdown_window", "int", 20, 250, None, "bars of the NAV peak"),
        ParamRange("max_drawdown", "float", 0.05, 0.40, 0.005, "drawdown at the floor"),
        ParamRange("drawdown_floor", "float", 0.0, 0.5, 0.01, "smallest exposure"),
        ParamRange(
            "rebalance_band", "float", 0.0, 0.25, 0.01, "smallest resize traded"
        ),
    ),
)

CORE_HOLDING = SubStrategyTemplate(
    name="core_holding",
    expert="positioning",
    description="A core long position scaled by trend strength: exposure = "
    "clip(core + (1 - core) * strength, 0, 1), strength = clip((sma(fast) - "
    "sma(slow)) / (sensitivity * atr(20)), -1, 1).",
    indicators=(
        IndicatorSpec("sma", ("fast",)),
        IndicatorSpec("sma", ("slow",)),
        IndicatorSpec("atr(20)"),
    ),
    entry_exit=EntryExitRule(
        entry_long="always, at least 0",
        exit_long="strength <= -core / (1 - core)",
        entry_short="never",
        exit_short="never",
        direction=_core_holding,
    ),
    position=PositionRule("long_flat"),
    risk=RiskRule(rebalance_band="rebalance_band"),
    params=(
        ParamRange("fast", "int", 10, 60, None, "fast SMA window"),
        ParamRange("slow", "int", 50, 250, None, "slow SMA window (>= fast + 5)"),
        ParamRange("core", "float", 0.1, 0.9, 0.05, "exposure at zero strength"),
        ParamRange(
            "sensitivity", "float", 0.5, 5.0, 0.1, "ATRs of spread for full strength"
        ),
        ParamRange(
            "rebalance_band", "float", 0.0, 0.25, 0.01, "smallest resize traded"
        ),
    ),
)

TEMPLATES: dict[str, SubStrategyTemplate] = {
    t.name: t
    for t in (
        MA_CROSSOVER,
        TS_MOMENTUM,
        MACD_TREND,
        RSI_FADE,
        BOLLINGER_REVERSION,
        KDJ_REVERSION,
        DONCHIAN_BREAKOUT,
        ATR_CHANNEL_BREAKOUT,
        VOLUME_BREAKOUT,
        VOLATILITY_TARGETING,
        DRAWDOWN_CONTROL,
        CORE_HOLDING,
    )
}


def expert_templates(expert: str) -> list[SubStrategyTemplate]:
    """The templates of one expert, in registry order."""
    if expert not in EXPERTS:
        raise ValueError(f"unknown expert '{expert}', expected one of {EXPERTS}")
    return [t for t in TEMPLATES.values() if t.expert == expert]
