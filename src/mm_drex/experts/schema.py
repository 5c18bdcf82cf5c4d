"""The typed schema of a sub-strategy and the bars it runs on.

A sub-strategy (paper-notes, v3) is a typed schema: the indicators it uses with
their causal windows, an entry/exit rule, a position rule (long/flat/short or a
volatility target), a risk rule (stop-loss, trailing stop, maximum exposure,
turnover bound) and typed parameter ranges. A *template* is that schema with
its parameters left open; a *sub-strategy* is a template plus one parameter
set. It emits a target exposure in ``[-1, 1]`` per bar, decided at the close
of the bar and executed at the next open.

The three stages of :meth:`SubStrategyTemplate.target_exposure`:

1. ``direction``: the entry/exit rule, a number in ``[-1, 1]`` per bar from
   causal indicators (0 = flat, also during indicator warm-up);
2. the position rule sizes it (short side weight, volatility target);
3. the risk rule (:mod:`mm_drex.experts.kernels`) applies the path-dependent
   parts exactly, bar by bar: stops, drawdown control, exposure cap,
   rebalance band and turnover bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mm_drex.experts.kernels import apply_risk_rules, return_pieces
from mm_drex.features import indicators

ParamValue = int | float
Params = Mapping[str, ParamValue]

# The price columns each shared indicator reads (indicators_api.md).
_INDICATOR_INPUTS: dict[str, tuple[str, ...]] = {
    "sma": ("close",),
    "ema": ("close",),
    "rolling_std": ("close",),
    "rolling_max": ("close",),
    "rolling_min": ("close",),
    "rolling_zscore": ("close",),
    "macd": ("close",),
    "rsi": ("close",),
    "bollinger": ("close",),
    "bar_returns": ("close",),
    "rolling_volatility": ("close",),
    "kdj": ("high", "low", "close"),
    "atr": ("high", "low", "close"),
    "donchian": ("high", "low"),
    "volume_zscore": ("volume",),
}


@dataclass
class Bars:
    """One instrument's bars in time order, with a cache of its indicators.

    ``cost_bps`` is the one-way cost per unit of traded notional (the
    instrument's ``cost_bps``). Every array has the same length; nothing here looks
    past the last bar it holds, so :meth:`head` is how a truncation test or a
    search restricted to the train segment sees the instrument.
    """

    instrument: str
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    periods_per_year: int = 252
    allow_short: bool = True
    cost_bps: float = 10.0
    _cache: dict[tuple, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.close)
        for name in ("open", "high", "low", "close", "volume"):
            array = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if array.shape != (n,):
                raise ValueError(
                    f"{self.instrument}: column '{name}' has shape {array.shape}, "
                    f"expected ({n},) like 'close'"
                )
            setattr(self, name, array)

    def __len__(self) -> int:
        return len(self.close)

    def head(self, n_bars: int) -> Bars:
        """The first ``n_bars`` bars only (a fresh indicator cache)."""
        return Bars(
            self.instrument,
            self.open[:n_bars],
            self.high[:n_bars],
            self.low[:n_bars],
            self.close[:n_bars],
            self.volume[:n_bars],
            self.periods_per_year,
            self.allow_short,
            self.cost_bps,
        )

    @property
    def cost_rate(self) -> float:
        """Cost per unit of traded notional as a fraction (``cost_bps * 1e-4``)."""
        return self.cost_bps * 1e-4

    def indicator(self, name: str, *args: Any) -> Any:
        """``mm_drex.features.indicators.<name>(<its price columns>, *args)``, cached."""
        key = (name, *args)
        if key not in self._cache:
            columns = [getattr(self, column) for column in _INDICATOR_INPUTS[name]]
            self._cache[key] = getattr(indicators, name)(*columns, *args)
        return self._cache[key]

    def annual_volatility(self, window: int) -> np.ndarray:
        """Rolling volatility of bar returns, annualised with ``periods_per_year``."""
        key = ("annual_volatility", window)
        if key not in self._cache:
            self._cache[key] = self.indicator("rolling_volatility", window) * np.sqrt(
                self.periods_per_year
            )
        return self._cache[key]


@dataclass(frozen=True)
class ParamRange:
    """A typed, bounded parameter: ``int`` or ``float`` on ``[low, high]``.

    ``step`` is the grid (1 for ints unless given; ``None`` = continuous float).
    """

    name: str
    kind: Literal["int", "float"]
    low: float
    high: float
    step: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("int", "float"):
            raise ValueError(f"parameter '{self.name}': kind must be int or float")
        if not self.low < self.high:
            raise ValueError(
                f"parameter '{self.name}': low={self.low} must be < high={self.high}"
            )

    @property
    def width(self) -> float:
        return float(self.high - self.low)

    def snap(self, value: float) -> ParamValue:
        """``value`` clipped to the range and rounded to the grid."""
        value = float(np.clip(value, self.low, self.high))
        step = (
            self.step if self.step is not None else (1 if self.kind == "int" else None)
        )
        if step is not None:
            value = self.low + round((value - self.low) / step) * step
            value = float(np.clip(value, self.low, self.high))
        if self.kind == "int":
            return int(round(value))
        return round(value, 10)

    def nudge(self, value: ParamValue, fraction: float) -> ParamValue:
        """``value`` moved by ``fraction`` of the range (on a grid: the nearest
        whole number of steps, at least one, the same both ways), clipped."""
        shift = fraction * self.width
        step = (
            self.step if self.step is not None else (1 if self.kind == "int" else None)
        )
        if step is not None:
            n_steps = max(1, int(np.floor(abs(shift) / step + 0.5)))
            shift = float(np.sign(shift)) * n_steps * step
        return self.snap(value + shift)

    def suggest(self, trial: Any, prefix: str = "") -> ParamValue:
        """Draw the parameter from an optuna trial (name ``prefix + name``)."""
        name = prefix + self.name
        if self.kind == "int":
            return trial.suggest_int(
                name, int(self.low), int(self.high), step=int(self.step or 1)
            )
        return trial.suggest_float(name, self.low, self.high, step=self.step)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "description": self.description,
        }


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator of the shared API and the parameters that set its windows."""

    name: str
    window_params: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.window_params:
            return self.name
        return f"{self.name}({', '.join(self.window_params)})"


@dataclass(frozen=True)
class EntryExitRule:
    """The rule tree in words, and the function that evaluates it.

    ``direction(bars, params)`` returns a float array in ``[-1, 1]``: +1 long,
    -1 short, 0 flat (a fraction is a graded conviction). The value at ``t``
    uses bars ``<= t`` only and is 0 during indicator warm-up.
    """

    entry_long: str
    exit_long: str
    entry_short: str
    exit_short: str
    direction: Callable[[Bars, Params], np.ndarray] = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {
            "entry_long": self.entry_long,
            "exit_long": self.exit_long,
            "entry_short": self.entry_short,
            "exit_short": self.exit_short,
        }


@dataclass(frozen=True)
class PositionRule:
    """How a direction becomes a target exposure.

    kind:
        ``long_flat_short``: long side at full size, the short side scaled by
        the parameter ``short_weight`` (0 = long/flat, 1 = symmetric);
        ``long_flat``: shorts are cut to flat;
        ``volatility_target``: as ``long_flat_short`` (or ``long_flat`` when
        ``short_weight`` is ``None``) then scaled by ``target_vol / realised
        annual volatility`` over ``vol_window`` bars, capped at 1.
    Values name the template's parameters.
    """

    kind: Literal["long_flat_short", "long_flat", "volatility_target"]
    short_weight: str | None = None
    target_vol: str | None = None
    vol_window: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "volatility_target" and not (
            self.target_vol and self.vol_window
        ):
            raise ValueError(
                "a volatility_target position rule needs target_vol and vol_window"
            )

    def size(self, direction: np.ndarray, bars: Bars, params: Params) -> np.ndarray:
        """Target exposure before the risk rule (NaN-free, in ``[-1, 1]``)."""
        target = np.nan_to_num(np.clip(direction, -1.0, 1.0), nan=0.0)
        if self.kind == "long_flat" or self.short_weight is None:
            target = np.maximum(target, 0.0)
        else:
            target = np.where(
                target < 0.0, target * float(params[self.short_weight]), target
            )
        if self.kind == "volatility_target":
            volatility = bars.annual_volatility(int(params[self.vol_window]))
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.minimum(1.0, float(params[self.target_vol]) / volatility)
            target = target * np.nan_to_num(scale, nan=0.0, posinf=1.0)
        return target

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "short_weight": self.short_weight,
            "target_vol": self.target_vol,
            "vol_window": self.vol_window,
        }


@dataclass(frozen=True)
class RiskRule:
    """The path-dependent limits, applied exactly by :func:`kernels.apply_risk_rules`.

    Each optional field names a template parameter (``None`` = rule off):
    ``stop_loss`` (exit when the open trade has lost this fraction since its
    fill), ``trailing_stop`` (exit when it has given back this fraction of its
    best value), ``rebalance_band`` (ignore same-direction resizes smaller than
    this), and drawdown control (``drawdown_window``, ``max_drawdown``,
    ``drawdown_floor``: scale by ``clip(1 - dd / max_drawdown, floor, 1)`` where
    ``dd`` is the sleeve's own drawdown from its peak over the window).
    ``max_exposure`` and ``max_turnover`` (largest ``|Δexposure|`` per bar) are
    numbers; ``None`` takes the experts' configured defaults.
    """

    stop_loss: str | None = None
    trailing_stop: str | None = None
    rebalance_band: str | None = None
    drawdown_window: str | None = None
    max_drawdown: str | None = None
    drawdown_floor: str | None = None
    max_exposure: float | None = None
    max_turnover: float | None = None

    def __post_init__(self) -> None:
        drawdown = (self.drawdown_window, self.max_drawdown, self.drawdown_floor)
        if any(drawdown) and not all(drawdown):
            raise ValueError(
                "drawdown control needs drawdown_window, max_drawdown and drawdown_floor"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stop_loss": self.stop_loss,
            "trailing_stop": self.trailing_stop,
            "rebalance_band": self.rebalance_band,
            "drawdown_window": self.drawdown_window,
            "max_drawdown": self.max_drawdown,
            "drawdown_floor": self.drawdown_floor,
            "max_exposure": self.max_exposure,
            "max_turnover": self.max_turnover,
        }


@dataclass(frozen=True)
class RiskLimits:
    """Limits every sub-strategy obeys unless its risk rule is tighter."""

    max_exposure: float = 1.0
    max_turnover: float = 1.0


@dataclass(frozen=True)
class SubStrategyTemplate:
    """A sub-strategy with its parameters left open (see the module docstring)."""

    name: str
    expert: str
    description: str
    indicators: tuple[IndicatorSpec, ...]
    entry_exit: EntryExitRule
    position: PositionRule
    risk: RiskRule
    params: tuple[ParamRange, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(
                f"template '{self.name}': duplicate parameter names {names}"
            )
        referenced = [
            self.position.short_weight,
            self.position.target_vol,
            self.position.vol_window,
            self.risk.stop_loss,
            self.risk.trailing_stop,
            self.risk.rebalance_band,
            self.risk.drawdown_window,
            self.risk.max_drawdown,
            self.risk.drawdown_floor,
            *(w for spec in self.indicators for w in spec.window_params),
        ]
        missing = sorted({r for r in referenced if r is not None} - set(names))
        if missing:
            raise ValueError(
                f"template '{self.name}': rules use undeclared parameters {missing}"
            )

    @property
    def param_ranges(self) -> dict[str, ParamRange]:
        return {p.name: p for p in self.params}

    def validate_params(self, params: Params) -> dict[str, ParamValue]:
        """The parameter set snapped to its ranges; names every missing or unknown key."""
        ranges = self.param_ranges
        missing = sorted(set(ranges) - set(params))
        unknown = sorted(set(params) - set(ranges))
        if missing or unknown:
            raise ValueError(
                f"template '{self.name}': missing parameters {missing}, unknown {unknown}"
            )
        return {name: ranges[name].snap(params[name]) for name in ranges}

    def sized_target(self, bars: Bars, params: Params) -> np.ndarray:
        """Entry/exit rule then position rule, before the risk rule."""
        direction = self.entry_exit.direction(bars, params)
        return self.position.size(direction, bars, params)

    def target_exposures(
        self,
        bars: Bars,
        param_sets: list[Params],
        limits: RiskLimits = RiskLimits(),
    ) -> np.ndarray:
        """Target exposures ``(T, P)`` in ``[-1, 1]`` of ``P`` parameter sets.

        The value at row ``t`` is decided at the close of bar ``t`` from bars
        ``<= t``; it is executed at the open of ``t+1``. The risk rule runs
        once, compiled, over all parameter sets.
        """
        param_sets = [self.validate_params(p) for p in param_sets]
        n_sets = len(param_sets)
        target = np.zeros((len(bars), n_sets))
        for column, params in enumerate(param_sets):
            target[:, column] = self.sized_target(bars, params)

        def per_set(name: str | None, off: float) -> np.ndarray:
            if name is None:
                return np.full(n_sets, off)
            return np.array([float(p[name]) for p in param_sets])

        risk = self.risk
        max_exposure = min(limits.max_exposure, risk.max_exposure or np.inf)
        max_turnover = min(limits.max_turnover, risk.max_turnover or np.inf)
        gap, intraday, close_change = return_pieces(bars.open, bars.close)
        return apply_risk_rules(
            target,
            gap,
            intraday,
            close_change,
            float(bars.cost_rate),
            bool(bars.allow_short),
            per_set(risk.stop_loss, np.inf),
            per_set(risk.trailing_stop, np.inf),
            per_set(risk.rebalance_band, 0.0),
            per_set(risk.drawdown_window, 0.0).astype(np.int64),
            per_set(risk.max_drawdown, 1.0),
            per_set(risk.drawdown_floor, 0.0),
            np.full(n_sets, float(min(max_exposure, 1.0))),
            np.full(n_sets, float(max_turnover)),
        )

    def target_exposure(
        self, bars: Bars, params: Params, limits: RiskLimits = RiskLimits()
    ) -> np.ndarray:
        """Target exposure ``(T,)`` of one parameter set (see :meth:`target_exposures`)."""
        return self.target_exposures(bars, [params], limits)[:, 0]

    def to_dict(self) -> dict[str, Any]:
        """The schema as plain data (for the pool catalog and the docs)."""
        return {
            "name": self.name,
            "expert": self.expert,
            "description": self.description,
            "indicators": [spec.describe() for spec in self.indicators],
            "entry_exit": self.entry_exit.to_dict(),
            "position": self.position.to_dict(),
            "risk": self.risk.to_dict(),
            "params": {p.name: p.to_dict() for p in self.params},
        }
