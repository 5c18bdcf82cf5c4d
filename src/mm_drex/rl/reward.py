"""Execution, accounting and the risk-adjusted reward of one decision step.

A decision at the close of bar ``t`` is a target exposure ``e_t``; it is
projected onto the limits and executed at the **open of bar t+1**, and it
earns bar ``t+1``'s after-cost net return. Every step below is the backtest
engine's own code (:mod:`mm_drex.backtest`), called on two-bar slices so
that the environment and the backtest cannot disagree:

1. projection: :func:`~mm_drex.backtest.projection.project_bounds_and_leverage`
   (bounds, short refusal, leverage), then the turnover cap measured from the
   drifted exposure just before the trade (the engine's
   :func:`~mm_drex.backtest.engine.drifted_exposure`, the same rule as its
   compiled ``cap_turnover``);
2. accounting: :func:`~mm_drex.backtest.engine.account` on the bars ``t``
   (exposure ``x_t`` held) and ``t+1`` (exposure ``x_{t+1}`` executed):
   turnover, cost (``c`` per unit of traded notional) and net return.

The reward of the decision at ``t`` is one of two kinds (``kind``).

``sharpe`` (the default): the increment of the sleeve's running Sharpe ratio,
so that an episode's rewards sum to the Sharpe ratio of its net returns (the
metric every result is judged by; flat scores 0, a constant long sleeve with
a positive mean scores above it)::

    S_n = m_n / s_n      m_n = Σ r / (n + k0)
                         s_n² = (Σ (r − r̄)² + k0 σ0²) / (n + k0)
    reward_t = scale * ( S_n+1 − S_n  − penalties )

over the ``n`` net returns of the episode so far; ``k0`` bars of prior
(``sharpe_prior_bars``) with volatility ``σ0`` (``sharpe_prior_volatility``,
per bar) shrink the first steps so that one bar cannot swing the ratio.

``penalised`` (paper-notes, v3: ``r_net − λ_dd·drawdown − λ_vol·volatility``,
"plus turnover and router-change penalties"), the reward of earlier
versions: a volatility penalty linear in exposure is a Sharpe hurdle of
``λ_vol·√periods`` that a sleeve must clear to score above flat::

    reward_t = scale * ( r_net,t+1
                         − λ_dd  · DD_t+1                 drawdown of the sleeve NAV from its peak
                         − λ_vol · σ_t+1                  EWMA volatility of its net returns (per bar)
                         − λ_to  · turnover_t+1           traded notional at the open of t+1
                         − λ_w   · Σ_k |w_t,k − w_t−1,k| ) change of the routing weights

The penalties (both kinds, each 0 by default except the weight change):
``λ_dd·DD + λ_vol·σ + λ_to·turnover + λ_w·|Δw|₁``. ``r_net`` already pays
the trading cost; ``λ_to`` penalises turnover beyond it. ``σ² ← (1−α)σ² + α r_net²`` with ``α = 1 − 2^(−1/halflife)``, starting at
0 when the sleeve starts flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mm_drex.backtest.engine import account, drifted_exposure
from mm_drex.backtest.projection import ExposureLimits, project_bounds_and_leverage
from mm_drex.config import Settings, setting

REWARD_KINDS = ("sharpe", "penalised")


@dataclass(frozen=True)
class RewardConfig(Settings):
    """Penalty weights of the reward (``params:expert_rl.reward``)."""

    group: ClassVar[str] = "expert_rl.reward"

    kind: str = setting("sharpe", choices=REWARD_KINDS)
    reward_scale: float = setting(100.0, gt=0)
    lambda_drawdown: float = setting(0.0, ge=0)
    lambda_volatility: float = setting(0.0, ge=0)
    lambda_turnover: float = setting(0.0, ge=0)
    lambda_weight_change: float = setting(0.0005, ge=0)
    volatility_halflife: float = setting(20.0, gt=0)
    sharpe_prior_bars: float = setting(20.0, gt=0)
    sharpe_prior_volatility: float = setting(0.01, gt=0)

    @property
    def volatility_alpha(self) -> float:
        return 1.0 - 2.0 ** (-1.0 / self.volatility_halflife)


@dataclass(frozen=True)
class Execution:
    """One step of execution for ``B`` sleeves (arrays ``(B,)``).

    ``after_bounds``/``after_leverage``: the target after each projection
    step; ``executed``: the exposure executed at the open of ``t+1`` (after
    the turnover cap); ``turnover``, ``cost``, ``net_return``: of bar ``t+1``.
    """

    after_bounds: np.ndarray
    after_leverage: np.ndarray
    executed: np.ndarray
    turnover: np.ndarray
    cost: np.ndarray
    net_return: np.ndarray


def execute(
    target: np.ndarray,
    held: np.ndarray,
    intraday_now: np.ndarray,
    overnight_next: np.ndarray,
    intraday_next: np.ndarray,
    cost_rate: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    limits: ExposureLimits,
) -> Execution:
    """Project ``target`` (decided at the close of ``t``) and execute it at the
    open of ``t+1`` for ``B`` sleeves at once.

    Args:
        target: ``(B,)`` requested exposures.
        held: ``(B,)`` exposure executed at the open of ``t`` (held over bar t).
        intraday_now: ``(B,)`` open -> close return of bar ``t``.
        overnight_next, intraday_next: ``(B,)`` returns of bar ``t+1``.
        cost_rate: ``(B,)`` cost per unit of traded notional (``bps * 1e-4``).
        lower, upper: ``(B,)`` exposure bounds (:func:`exposure_bounds`).
        limits: the backtest's limits (leverage, turnover cap).
    """
    target = np.asarray(target, dtype=float)
    after_bounds, after_leverage = project_bounds_and_leverage(
        target[None, :, None], lower, upper, limits.gross_leverage
    )
    after_bounds, after_leverage = after_bounds[0, :, 0], after_leverage[0, :, 0]
    executed = after_leverage
    if limits.max_turnover_per_bar is not None:
        before_trade = drifted_exposure(
            drifted_exposure(held, intraday_now), overnight_next
        )
        cap = limits.max_turnover_per_bar
        executed = np.clip(executed, before_trade - cap, before_trade + cap)
    exposure = np.stack([held, executed])
    overnight = np.stack([np.zeros_like(overnight_next), overnight_next])
    intraday = np.stack([intraday_now, intraday_next])
    turnover, cost, net_return, _ = account(exposure, overnight, intraday, cost_rate)
    return Execution(
        after_bounds=after_bounds,
        after_leverage=after_leverage,
        executed=executed,
        turnover=turnover[1],
        cost=cost[1],
        net_return=net_return[1],
    )


@dataclass
class SleeveState:
    """The sleeve of ``B`` episodes after bar ``t`` (arrays ``(B,)``).

    ``exposure``: executed at the open of ``t``; ``nav`` and ``peak`` (running
    maximum since the episode started); ``variance``: EWMA of squared net
    returns; ``weights``: the routing weights of the previous decision ``(B, 4)``;
    ``count``, ``total``, ``total_sq``: number, sum and sum of squares of the
    episode's net returns (the running Sharpe ratio).
    """

    exposure: np.ndarray
    nav: np.ndarray
    peak: np.ndarray
    variance: np.ndarray
    weights: np.ndarray
    count: np.ndarray | None = None
    total: np.ndarray | None = None
    total_sq: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("count", "total", "total_sq"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(len(self.nav)))

    @classmethod
    def flat(cls, weights: np.ndarray) -> SleeveState:
        """Flat sleeves with NAV 1; ``weights`` ``(B, 4)`` seed the weight-change term."""
        n = len(weights)
        return cls(
            exposure=np.zeros(n),
            nav=np.ones(n),
            peak=np.ones(n),
            variance=np.zeros(n),
            weights=np.array(weights, dtype=float),
            count=np.zeros(n),
            total=np.zeros(n),
            total_sq=np.zeros(n),
        )

    def running_sharpe(self, config: RewardConfig) -> np.ndarray:
        """The shrunk per-bar Sharpe ratio of the episode's net returns
        (module docstring); 0 before any return and for a flat sleeve."""
        return running_sharpe(self.count, self.total, self.total_sq, config)

    @property
    def drawdown(self) -> np.ndarray:
        """``1 − NAV / peak`` (>= 0)."""
        return np.where(self.peak > 0, 1.0 - self.nav / self.peak, 0.0)

    @property
    def volatility(self) -> np.ndarray:
        """Per-bar EWMA volatility of the sleeve's net returns."""
        return np.sqrt(self.variance)


def running_sharpe(
    count: np.ndarray, total: np.ndarray, total_sq: np.ndarray, config: RewardConfig
) -> np.ndarray:
    """``S_n = m_n / s_n`` of ``n = count`` returns with sum ``total`` and
    sum of squares ``total_sq`` (module docstring)."""
    k0, sigma0 = config.sharpe_prior_bars, config.sharpe_prior_volatility
    centred = np.maximum(total_sq - total**2 / np.maximum(count, 1.0), 0.0)
    variance = (centred + k0 * sigma0**2) / (count + k0)
    return total / (count + k0) / np.sqrt(variance)


def advance(
    state: SleeveState,
    execution: Execution,
    weights: np.ndarray,
    config: RewardConfig,
    active: np.ndarray | None = None,
) -> tuple[SleeveState, np.ndarray]:
    """The sleeve after bar ``t+1`` and the reward of the decision at ``t``.

    Args:
        state: the sleeve after bar ``t``.
        execution: :func:`execute` of the decision at ``t``.
        weights: ``(B, 4)`` routing weights of that decision.
        config: penalty weights.
        active: ``(B,)`` episodes that take this step (others keep their state,
            reward 0).

    Returns:
        ``(new_state, reward)`` with ``reward`` ``(B,)`` as in the module docstring.
    """
    active = np.ones(len(state.nav), dtype=bool) if active is None else active
    # a wiped-out sleeve (NAV 0) stays at 0: no trade, no cost, no return (engine rule)
    live = active & (state.nav > 0)
    net = np.where(live, execution.net_return, 0.0)
    nav = state.nav * (1.0 + net)
    peak = np.maximum(state.peak, nav)
    alpha = config.volatility_alpha
    variance = np.where(
        active, (1 - alpha) * state.variance + alpha * net**2, state.variance
    )
    new = SleeveState(
        exposure=np.where(active, execution.executed, state.exposure),
        nav=nav,
        peak=peak,
        variance=variance,
        weights=np.where(active[:, None], weights, state.weights),
        count=state.count + active,
        total=state.total + net,
        total_sq=state.total_sq + net**2,
    )
    weight_change = np.abs(weights - state.weights).sum(axis=1)
    penalties = (
        config.lambda_drawdown * new.drawdown
        + config.lambda_volatility * new.volatility
        + config.lambda_turnover * np.where(live, execution.turnover, 0.0)
        + config.lambda_weight_change * weight_change
    )
    if config.kind == "sharpe":
        gain = new.running_sharpe(config) - state.running_sharpe(config)
    else:
        gain = net
    reward = config.reward_scale * (gain - penalties)
    return new, np.where(active, reward, 0.0)
