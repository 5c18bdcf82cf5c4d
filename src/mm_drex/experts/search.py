"""Pool search: optuna on train, robustness audit on val, top-K admitted.

For one (expert, regime, scope) *update*:

1. **Search** (train): for each of the expert's templates, a seeded TPE study
   of ``n_trials`` trials over its parameter ranges. Exposures are computed on
   each instrument's full causal history *before the validation segment*
   (train and its purge); the objective scores the after-cost returns
   credited to the train decision bars whose forward regime label is the
   pool's regime, pooled over the scope's instruments: by default the
   annualised mean-variance utility ``A * (mean - risk_aversion / 2 * var)``
   (:func:`mm_drex.experts.evaluation.mean_variance_utility`), or the Sharpe
   ratio.
2. **Audit** (val): each study's ``audit_candidates`` best distinct trials are
   scored on the validation decision bars of that regime, with exposures
   computed on the history *before the test segment*
   (:mod:`mm_drex.experts.robustness`); each parameter is nudged by +/- 5% of its
   range for the stability metric.
3. **Admission**: the ``pool_size`` best audit scores form the pool; a
   candidate exposed on fewer than ``min_activity`` of the validation
   decisions ranks after the active ones, and candidates that behave
   identically on validation count once. With ``require_stable`` only a
   *stable* candidate is admitted: its mean after-cost return on the
   regime's decisions is positive in every block of the train window the
   search may read and on validation (a candidate whose sign flips between
   blocks is not admitted); where no candidate is stable, the first of the
   audit order is admitted alone and the pool is marked ``stable: false``.

The search never reads a validation or test bar; the audit never reads a
test bar (both receive truncated bars). Same seed -> same pools.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from mm_drex.experts.evaluation import (
    decision_returns,
    decision_turnover,
    mean_variance_utility,
    net_returns,
    risk_adjusted_return,
    window_returns,
)
from mm_drex.experts.history import InstrumentHistory
from mm_drex.experts.robustness import AUDIT_WEIGHTS, robustness_scores
from mm_drex.experts.schema import Bars, Params, RiskLimits, SubStrategyTemplate
from mm_drex.experts.templates import EXPERTS, TEMPLATES, expert_templates

POOL_FORMAT_VERSION = 1
OBJECTIVES = ("utility", "sharpe")
ALL_MARKETS = "all"


@dataclass(frozen=True)
class SearchConfig:
    """Settings of the pool search and audit (``experts`` parameters)."""

    n_trials: int = 64
    seed: int = 42
    objective: str = "utility"
    risk_aversion: float = 2.0
    pool_size: int = 5
    audit_candidates: int = 6
    n_startup_trials: int = 16
    nudge_fraction: float = 0.05
    min_activity: float = 0.05
    audit_window: int = 20
    audit_quantile: float = 0.05
    audit_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(AUDIT_WEIGHTS)
    )
    min_train_decisions: int = 250
    require_stable: bool = True
    limits: RiskLimits = RiskLimits()

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"experts.search.objective must be one of {OBJECTIVES}, got {self.objective!r}"
            )

    def score(self, returns: np.ndarray, periods_per_year: float) -> np.ndarray:
        """The search objective of pooled returns ``(n, P)``, annualised."""
        if self.objective == "sharpe":
            return np.atleast_1d(risk_adjusted_return(returns, periods_per_year))
        return np.atleast_1d(
            mean_variance_utility(returns, self.risk_aversion, periods_per_year)
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["audit_weights"] = dict(self.audit_weights)
        return out


@dataclass(frozen=True)
class ScoredSlice:
    """Bars an update may read and the decision bars it is scored on."""

    bars: Bars
    decisions: np.ndarray


def study_seed(seed: int, expert: str, regime: str, scope: str, template: str) -> int:
    """A seed per study derived from the run's seed and the study's name, so
    adding a market or a template does not change the other studies."""
    key = zlib.crc32(f"{expert}/{regime}/{scope}/{template}".encode())
    return int((seed * 1_000_003 + key) % (2**31 - 1))


def _params_key(template: str, params: Params) -> tuple:
    return (template, *sorted(params.items()))


def _train_objective(
    template: SubStrategyTemplate,
    param_sets: list[Params],
    slices: Sequence[ScoredSlice],
    config: SearchConfig,
) -> np.ndarray:
    """The objective of the after-cost returns credited to the decision bars,
    pooled over the instruments; one value per parameter set."""
    limits = config.limits
    pooled = []
    years = []
    for piece in slices:
        exposure = template.target_exposures(piece.bars, param_sets, limits)
        credited = decision_returns(net_returns(piece.bars, exposure), piece.decisions)
        pooled.append(credited)
        years.append(np.full(len(credited), piece.bars.periods_per_year))
    returns = np.concatenate(pooled, axis=0)
    periods = float(np.concatenate(years).mean()) if len(returns) else 252.0
    return config.score(returns, periods)


def _audit_metrics(
    template: SubStrategyTemplate,
    param_sets: list[Params],
    slices: Sequence[ScoredSlice],
    config: SearchConfig,
) -> dict[str, np.ndarray]:
    """Raw audit metrics per parameter set (before nudges are folded in)."""
    n_sets = len(param_sets)
    credited, windows, benchmark, years = [], [], [], []
    turnover_sum = np.zeros(n_sets)
    active_sum = np.zeros(n_sets)
    turnover_count = 0
    for piece in slices:
        exposure = template.target_exposures(piece.bars, param_sets, config.limits)
        returns = net_returns(piece.bars, exposure)
        credited.append(decision_returns(returns, piece.decisions))
        years.append(np.full(len(credited[-1]), piece.bars.periods_per_year))
        windows.append(window_returns(returns, piece.decisions, config.audit_window))
        held = net_returns(piece.bars, np.ones(len(piece.bars)))
        benchmark.append(window_returns(held, piece.decisions, config.audit_window))
        count = int(piece.decisions.sum())
        turnover_sum += decision_turnover(exposure, piece.decisions) * count
        active_sum += (exposure[piece.decisions] != 0.0).sum(axis=0)
        turnover_count += count
    pooled = np.concatenate(credited, axis=0)
    periods = float(np.concatenate(years).mean()) if len(pooled) else 252.0
    strategy_windows = np.concatenate(windows, axis=0)
    benchmark_windows = np.concatenate(benchmark, axis=0)
    if len(strategy_windows):
        beats = (strategy_windows > benchmark_windows[:, None]).mean(axis=0)
        q05 = np.quantile(strategy_windows, config.audit_quantile, axis=0)
        median = np.median(strategy_windows, axis=0)
        excess = (strategy_windows - benchmark_windows[:, None]).mean(axis=0)
    else:
        beats = q05 = median = excess = np.full(n_sets, np.nan)
    return {
        "val_objective": config.score(pooled, periods),
        "val_sharpe": np.atleast_1d(risk_adjusted_return(pooled, periods)),
        "beats_benchmark": beats,
        "q05_return": q05,
        "median_return": median,
        "mean_excess_return": excess,
        "turnover": turnover_sum / max(turnover_count, 1),
        "activity": active_sum / max(turnover_count, 1),
        "n_windows": np.full(n_sets, len(strategy_windows)),
    }


def _block_means(
    template: SubStrategyTemplate,
    param_sets: list[Params],
    histories: Sequence[InstrumentHistory],
    regime: str,
    config: SearchConfig,
) -> dict[str, np.ndarray]:
    """Mean after-cost return credited to the regime's decisions of each
    stability block (:meth:`InstrumentHistory.stability_blocks`), pooled over
    the instruments: block name -> ``(n_sets,)``. Exposures are computed on
    the bars before the test segment."""
    pooled: dict[str, list[np.ndarray]] = {}
    for h in histories:
        bars = h.audit_bars()
        returns = net_returns(
            bars, template.target_exposures(bars, param_sets, config.limits)
        )
        for name, mask in h.stability_blocks(regime).items():
            pooled.setdefault(name, []).append(
                decision_returns(returns, mask[: h.audit_end])
            )
    means = {}
    for name, pieces in pooled.items():
        credited = np.concatenate(pieces, axis=0)
        if len(credited):
            means[name] = credited.mean(axis=0)
    return means


def _nudges(
    template: SubStrategyTemplate, params: Params, fraction: float
) -> list[dict]:
    """The parameter set with each parameter moved by -/+ ``fraction`` of its range."""
    out = []
    for spec in template.params:
        for sign in (-1.0, 1.0):
            nudged = dict(params)
            nudged[spec.name] = spec.nudge(params[spec.name], sign * fraction)
            out.append(nudged)
    return out


def _to_builtin(value: Any) -> Any:
    """numpy scalars -> Python numbers (JSON-ready); NaN -> None."""
    if isinstance(value, dict):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_builtin(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 10)
    return value


def _run_study(
    template: SubStrategyTemplate,
    train: Sequence[ScoredSlice],
    config: SearchConfig,
    seed: int,
) -> optuna.Study:
    """A seeded TPE study of ``config.n_trials`` trials over one template's
    parameter ranges, maximising :func:`_train_objective`."""

    def objective(trial: optuna.Trial) -> float:
        params = template.validate_params(
            {p.name: p.suggest(trial) for p in template.params}
        )
        trial.set_user_attr("params", params)
        return float(_train_objective(template, [params], train, config)[0])

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=min(config.n_startup_trials, config.n_trials),
                multivariate=True,
            )
            study = optuna.create_study(direction="maximize", sampler=sampler)
            study.optimize(objective, n_trials=config.n_trials)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return study


def _best_distinct(
    study: optuna.Study, template: str, count: int
) -> list[dict[str, Any]]:
    """The ``count`` best trials with distinct parameter sets (ties: earlier first)."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    done.sort(key=lambda t: (-t.value, t.number))
    out, seen = [], set()
    for trial in done:
        key = _params_key(template, trial.user_attrs["params"])
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "trial": trial.number,
                "template": template,
                "params": dict(trial.user_attrs["params"]),
                "train_objective": float(trial.value),
            }
        )
        if len(out) == count:
            break
    return out


def _admit(
    scored: pd.DataFrame, pool_size: int, allowed: np.ndarray | None = None
) -> np.ndarray:
    """The first ``pool_size`` ``allowed`` rows of the audit order that behave
    differently on validation (two parameter sets with identical validation
    metrics, e.g. differing only in a band that never binds, count once);
    repeats fill the pool only when too few distinct candidates exist. Where
    no row is allowed, the first row is admitted alone."""
    allowed = np.ones(len(scored), dtype=bool) if allowed is None else allowed
    if not allowed.any():
        allowed = np.arange(len(scored)) == 0
    behaviour = scored[
        ["val_objective", "q05_return", "median_return", "turnover", "activity"]
    ].round(12)
    repeat = behaviour.duplicated().to_numpy()
    admitted = np.zeros(len(scored), dtype=bool)
    for index in np.flatnonzero(~repeat & allowed)[:pool_size]:
        admitted[index] = True
    missing = pool_size - int(admitted.sum())
    if missing > 0:
        for index in np.flatnonzero(repeat & allowed)[:missing]:
            admitted[index] = True
    return admitted


def search_update(
    expert: str,
    regime: str,
    scope: str,
    histories: Sequence[InstrumentHistory],
    config: SearchConfig,
) -> dict[str, Any]:
    """Search, audit and admit one pool; returns its JSON-ready record.

    The record holds the admitted ``members`` (rank, template, parameters,
    train objective, every audit metric, rank and score) and every audited
    ``candidate`` with the same fields and an ``admitted`` flag.
    """
    templates = {t.name: t for t in expert_templates(expert)}
    train = [
        ScoredSlice(h.search_bars(), h.decisions("train", regime)[: h.search_end])
        for h in histories
    ]
    val = [
        ScoredSlice(h.audit_bars(), h.decisions("val", regime)[: h.audit_end])
        for h in histories
    ]
    candidates: list[dict[str, Any]] = []
    seeds: dict[str, int] = {}
    for name, template in templates.items():
        seeds[name] = study_seed(config.seed, expert, regime, scope, name)
        study = _run_study(template, train, config, seeds[name])
        candidates.extend(_best_distinct(study, name, config.audit_candidates))

    rows = []
    for name in dict.fromkeys(c["template"] for c in candidates):
        template = templates[name]
        group = [c for c in candidates if c["template"] == name]
        sets, spans = [], []
        for c in group:
            nudged = _nudges(template, c["params"], config.nudge_fraction)
            spans.append((len(sets), len(nudged)))
            sets.extend([c["params"], *nudged])
        metrics = _audit_metrics(template, sets, val, config)
        blocks = _block_means(
            template, [c["params"] for c in group], histories, regime, config
        )
        for index, (c, (start, n_nudged)) in enumerate(zip(group, spans, strict=True)):
            base = metrics["val_objective"][start]
            nudged = metrics["val_objective"][start + 1 : start + 1 + n_nudged]
            row = {**c, **{k: v[start] for k, v in metrics.items()}}
            row["stability"] = -float(np.mean(np.abs(nudged - base)))
            row["worst_nudged_objective"] = float(np.min(nudged))
            row["block_means"] = {k: float(v[index]) for k, v in blocks.items()}
            row["stable"] = bool(blocks) and all(v[index] > 0 for v in blocks.values())
            rows.append(row)
    table = pd.DataFrame(rows)
    scored = robustness_scores(table, config.audit_weights)
    # a candidate that is flat on almost every validation decision says nothing
    # about the regime: it is ranked after the active ones
    scored["eligible"] = scored["activity"] >= config.min_activity
    scored = scored.sort_values(
        ["eligible", "score", "train_objective", "template", "trial"],
        ascending=[False, False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)
    scored["audit_rank"] = np.arange(1, len(scored) + 1)
    stable = scored["stable"].to_numpy(dtype=bool)
    scored["admitted"] = _admit(
        scored, config.pool_size, stable if config.require_stable else None
    )

    metric_columns = [
        "val_objective",
        "val_sharpe",
        "beats_benchmark",
        "q05_return",
        "median_return",
        "mean_excess_return",
        "stability",
        "worst_nudged_objective",
        "turnover",
        "activity",
        "n_windows",
    ]
    rank_columns = [c for c in scored.columns if c.startswith("rank_")]

    def record(row: pd.Series) -> dict[str, Any]:
        return {
            "member_id": f"{expert}/{regime}/{scope}/{int(row['audit_rank'])}",
            "audit_rank": int(row["audit_rank"]),
            "admitted": bool(row["admitted"]),
            "eligible": bool(row["eligible"]),
            "template": row["template"],
            "params": row["params"],
            "trial": int(row["trial"]),
            "train_objective": row["train_objective"],
            "audit": {c: row[c] for c in metric_columns},
            "block_means": row["block_means"],
            "stable": bool(row["stable"]),
            "ranks": {c.removeprefix("rank_"): row[c] for c in rank_columns},
            "score": row["score"],
        }

    audited = [record(row) for _, row in scored.iterrows()]
    return _to_builtin(
        {
            "expert": expert,
            "regime": regime,
            "scope": scope,
            "instruments": [h.instrument for h in histories],
            "study_seeds": seeds,
            "n_trials_per_template": config.n_trials,
            "n_train_decisions": int(sum(s.decisions.sum() for s in train)),
            "n_val_decisions": int(sum(s.decisions.sum() for s in val)),
            "stable": bool(stable.any()) or not config.require_stable,
            "n_stable_candidates": int(stable.sum()),
            "members": [r for r in audited if r["admitted"]],
            "candidates": audited,
        }
    )


def data_fingerprint(histories: Sequence[InstrumentHistory]) -> str:
    """sha256 of everything the search and audit may read: bars, segments and
    labels before each instrument's test segment."""
    digest = hashlib.sha256()
    for h in histories:
        end = h.audit_end
        digest.update(h.instrument.encode())
        bars = h.bars
        for column in (bars.open, bars.high, bars.low, bars.close, bars.volume):
            digest.update(np.ascontiguousarray(column[:end]).tobytes())
        digest.update(h.segment[:end].astype("U8").tobytes())
        digest.update(h.regime_code[:end].tobytes())
        digest.update(
            json.dumps(
                [bars.periods_per_year, bars.allow_short, bars.cost_bps, h.market]
            ).encode()
        )
    return digest.hexdigest()


def _scopes(
    histories: Sequence[InstrumentHistory], regime: str, config: SearchConfig
) -> dict[str, str]:
    """market -> the scope its (expert, regime) pool is searched on: the market
    itself where it has at least ``min_train_decisions`` train decisions
    labelled ``regime``, else all markets together. Decided on train labels
    only, so validation data cannot change what the search fits."""
    out = {}
    for market in dict.fromkeys(h.market for h in histories):
        members = [h for h in histories if h.market == market]
        n_train = sum(int(h.decisions("train", regime).sum()) for h in members)
        out[market] = market if n_train >= config.min_train_decisions else ALL_MARKETS
    return out


def build_expert_pools(
    histories: Sequence[InstrumentHistory],
    config: SearchConfig,
    experts: Sequence[str] = EXPERTS,
    scopes: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Search and audit every (expert, regime, scope) pool (``scopes``:
    regime -> market -> scope, decided on the histories' train labels when
    not given).

    Returns the pool catalog: ``version`` (sha256 of the configuration, the
    templates and :func:`data_fingerprint`), the configuration, the templates'
    schemas, ``scopes`` (regime -> market -> scope) and ``pools``, one record
    of :func:`search_update` per (expert, regime, scope).
    """
    regimes = histories[0].regimes
    if scopes is None:
        scopes = {regime: _scopes(histories, regime, config) for regime in regimes}
    scopes = {regime: dict(scopes[regime]) for regime in regimes}
    pools = []
    for expert in experts:
        for regime in regimes:
            for scope in dict.fromkeys(scopes[regime].values()):
                members = [
                    h for h in histories if scope == ALL_MARKETS or h.market == scope
                ]
                pools.append(search_update(expert, regime, scope, members, config))
    templates = {
        name: t.to_dict() for name, t in TEMPLATES.items() if t.expert in experts
    }
    fingerprint = data_fingerprint(histories)
    identity = json.dumps(
        {"config": config.to_dict(), "templates": templates, "data": fingerprint},
        sort_keys=True,
        default=str,
    )
    return _to_builtin(
        {
            "format_version": POOL_FORMAT_VERSION,
            "version": hashlib.sha256(identity.encode()).hexdigest()[:16],
            "data_fingerprint": fingerprint,
            "config": config.to_dict(),
            "regimes": list(regimes),
            "scopes": scopes,
            "templates": templates,
            "pools": pools,
        }
    )
