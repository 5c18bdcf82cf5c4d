"""The explain stage's settings (``params:explain``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from mm_drex.config import Settings


@dataclass(frozen=True)
class ExplainSettings(Settings):
    """``params:explain``: which decision to explain (the last decision bar on
    or before ``date`` of ``instrument``; null date: its last decision), of
    which strategy and seed (null: the smallest in the log), and the chart's
    file name as linked from the page."""

    group: ClassVar[str] = "explain"

    instrument: str = "SP500"
    date: pd.Timestamp | None = None
    strategy: str = "mm_drex"
    seed: int | None = None
    chart_file: str = "explanation_chart.png"
