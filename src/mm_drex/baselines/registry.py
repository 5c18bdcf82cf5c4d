"""Every baseline by name. Adding one = its module + one line here."""

from __future__ import annotations

from mm_drex.baselines.base import Baseline
from mm_drex.baselines.buy_hold import BuyHold
from mm_drex.baselines.sma_crossover import SmaCrossover

BASELINES: dict[str, type[Baseline]] = {
    BuyHold.name: BuyHold,
    SmaCrossover.name: SmaCrossover,
}
