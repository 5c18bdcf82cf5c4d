"""Run-report nodes: thin wrappers over :mod:`mm_drex.reporting.report`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.reporting import report
from mm_drex.reporting.settings import ReportingSettings


def run_report(
    main: str,
    significance: str,
    deflated: str,
    costs: str,
    regimes: str,
    attribution: str,
    results: str,
    data_quality: pd.DataFrame,
    labels: str,
    experts: str,
    router: str,
    mmdrex: str,
    sample_charts: Mapping[str, Any],
    params: Mapping[str, Any],
) -> str:
    """``report.md``: every table of the run, and the figures linked (the
    sample charts by their partition names; they are not loaded)."""
    tables = dict(
        main=main,
        significance=significance,
        deflated=deflated,
        costs=costs,
        regimes=regimes,
        attribution=attribution,
        mmdrex=mmdrex,
        router=router,
        experts=experts,
        labels=labels,
        results=results,
    )
    settings = ReportingSettings.from_params(params)
    return report.run_report(tables, data_quality, sample_charts, settings)


def headline_metrics(main_table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"<strategy>.<market>.<metric>": {"value": seed mean, "step": 0}}`` of
    the main table's TR, Sharpe and MDD: the run's metrics for the tracking
    store (kedro-mlflow's metrics dataset format)."""
    return report.tracked_metrics(main_table)
