"""Baselines: small estimators behind one interface, run through the same engine.

``BASELINES`` maps a name to its class (the paper's fifteen, in order);
:func:`run_baselines` fits each configured baseline (per seed, per instrument
or per pool of instruments) and returns the long exposure table, the
selection record and the fit log. See ``docs/baselines.md``.
"""

from mm_drex.baselines.base import Baseline, InstrumentContext, segment_sharpe
from mm_drex.baselines.data import InstrumentData
from mm_drex.baselines.pooled import PooledBaseline
from mm_drex.baselines.registry import BASELINES
from mm_drex.baselines.runner import fit_baseline, run_baselines, strategy_parameters

__all__ = [
    "BASELINES",
    "Baseline",
    "InstrumentContext",
    "InstrumentData",
    "PooledBaseline",
    "fit_baseline",
    "run_baselines",
    "segment_sharpe",
    "strategy_parameters",
]
