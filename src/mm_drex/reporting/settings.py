"""The reporting stages' settings (``params:reporting``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mm_drex.backtest.metrics import METRIC_NAMES
from mm_drex.backtest.settings import BacktestSettings, BootstrapSettings
from mm_drex.config import Settings, setting
from mm_drex.reporting.comparison import HEADLINE_METRICS


@dataclass(frozen=True)
class ReportFigure(Settings):
    """One figure linked from ``report.md`` (path relative to 08_reporting)."""

    group: ClassVar[str] = "reporting.report_figures"

    caption: str
    path: str


@dataclass(frozen=True)
class ReportingSettings(Settings):
    """``params:reporting``: the metric columns of the tables, the figures'
    resolution, the strategy under test, the costs of the sensitivity table,
    overrides of ``backtest.bootstrap`` for the significance tests, the
    tearsheets' markets (null: all) and the run report's title and figures."""

    group: ClassVar[str] = "reporting"

    table_metrics: tuple[str, ...] = METRIC_NAMES
    figure_dpi: int = setting(110, ge=10)
    comparison_metrics: tuple[str, ...] = setting(
        HEADLINE_METRICS, choices=METRIC_NAMES
    )
    lead_strategy: str = "mm_drex"
    cost_sensitivity_bps: tuple[int | float, ...] = setting((0, 5, 10, 20, 50), ge=0)
    significance: dict[str, Any] = field(default_factory=dict)
    tearsheet_markets: tuple[str, ...] | None = None
    report_title: str = "MM-DREX run report"
    report_figures: tuple[ReportFigure, ...] = ()

    def significance_bootstrap(self, backtest: BacktestSettings) -> BootstrapSettings:
        """The backtest's bootstrap with the ``significance`` overrides."""
        return backtest.bootstrap.with_overrides(
            self.significance, "reporting.significance"
        )
