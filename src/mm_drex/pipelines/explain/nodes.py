"""Explain nodes: thin wrappers over :mod:`mm_drex.audit`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.audit import ExplainSettings
from mm_drex.audit.explain import explain_decision as explanation


def explain_decision(
    audit_trail: pd.DataFrame,
    chart_index: pd.DataFrame,
    chart_shards: Mapping[str, Callable[[], np.ndarray]],
    regimes: pd.DataFrame,
    params: Mapping[str, Any],
) -> tuple[str, Figure]:
    """``params:explain`` (instrument, date, strategy, seed, chart_file) ->
    the explanation page (markdown) and the chart the router saw (PNG)."""
    settings = ExplainSettings.from_params(params)
    return explanation(audit_trail, chart_index, chart_shards, regimes, settings)
