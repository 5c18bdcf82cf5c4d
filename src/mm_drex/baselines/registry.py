"""Every baseline by name, in the paper's order. Adding one = its module + one line here."""

from __future__ import annotations

from mm_drex.baselines.a2c_agent import A2cAgent
from mm_drex.baselines.base import Baseline
from mm_drex.baselines.bollinger_reversion import BollingerReversion
from mm_drex.baselines.buy_hold import BuyHold
from mm_drex.baselines.donchian_breakout import DonchianBreakout
from mm_drex.baselines.dqn_agent import DqnAgent
from mm_drex.baselines.gradient_boosting import GradientBoosting
from mm_drex.baselines.llmoe_router import LlmoeRouter
from mm_drex.baselines.lstm_forecaster import LstmForecaster
from mm_drex.baselines.macd_signal import MacdSignal
from mm_drex.baselines.ppo_agent import PpoAgent
from mm_drex.baselines.rsi_reversal import RsiReversal
from mm_drex.baselines.sma_crossover import SmaCrossover
from mm_drex.baselines.technical_search import TechnicalSearch
from mm_drex.baselines.transformer_forecaster import TransformerForecaster
from mm_drex.baselines.ts_momentum import TsMomentum

BASELINES: dict[str, type[Baseline]] = {
    BuyHold.name: BuyHold,
    SmaCrossover.name: SmaCrossover,
    MacdSignal.name: MacdSignal,
    RsiReversal.name: RsiReversal,
    BollingerReversion.name: BollingerReversion,
    DonchianBreakout.name: DonchianBreakout,
    TsMomentum.name: TsMomentum,
    TechnicalSearch.name: TechnicalSearch,
    GradientBoosting.name: GradientBoosting,
    LstmForecaster.name: LstmForecaster,
    TransformerForecaster.name: TransformerForecaster,
    PpoAgent.name: PpoAgent,
    A2cAgent.name: A2cAgent,
    DqnAgent.name: DqnAgent,
    LlmoeRouter.name: LlmoeRouter,
}
