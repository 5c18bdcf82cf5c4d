"""Baselines: small estimators behind one interface, run through the same engine.

``BASELINES`` maps a name to its class; :func:`run_baselines` fits each
configured baseline per instrument and returns the long exposure table.
"""

from mm_drex.baselines.base import Baseline, InstrumentContext, segment_sharpe
from mm_drex.baselines.registry import BASELINES
from mm_drex.baselines.runner import run_baselines

__all__ = [
    "BASELINES",
    "Baseline",
    "InstrumentContext",
    "run_baselines",
    "segment_sharpe",
]
