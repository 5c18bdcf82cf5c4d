"""The backtest's settings (``params:backtest``): one typed reader for every
stage that trades, scores or reports with the engine's costs and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mm_drex.backtest.metrics import BootstrapSettings
from mm_drex.backtest.projection import ExposureLimits
from mm_drex.config import Settings, setting

DEFAULT_MARKETS = {
    "stocks": ("index", "equity"),
    "futures": ("future", "etf"),
    "crypto": ("crypto",),
}


@dataclass(frozen=True)
class CostSettings(Settings):
    """``params:backtest.costs``: per-instrument costs come from the
    ``instruments`` table; ``override_bps`` replaces them, most specific key
    first (instrument name > asset class > ``all``)."""

    group: ClassVar[str] = "backtest.costs"

    override_bps: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BacktestSettings(Settings):
    """``params:backtest``: the evaluated segment, costs, risk limits, market
    portfolios, bootstrap and the benchmark of the Sharpe-difference tests."""

    group: ClassVar[str] = "backtest"

    segment: str = setting("test", choices=("train", "val", "test"))
    costs: CostSettings = field(default_factory=CostSettings)
    limits: ExposureLimits = field(default_factory=ExposureLimits)
    markets: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_MARKETS)
    )
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    benchmark_strategy: str = "buy_hold"

    @property
    def cost_override_bps(self) -> dict[str, float]:
        return dict(self.costs.override_bps)
