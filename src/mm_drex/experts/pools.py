"""From audited pools to one exposure per (instrument, bar, expert).

At inference the regime is unknown, so an expert's exposure must not depend on
the label at ``t``. The expert therefore mixes the members of **all** its
regime pools that serve the instrument's market, weighted by their audit
scores::

    weight_m   = softmax(score_m / temperature)      over the expert's members
    exposure_t = sum_m weight_m * exposure_{m,t}

Regime adaptation is left to the router, which weighs the experts. The
exposure of each regime's pool alone (the same weights renormalised within the
pool) is kept beside it for the router and the audit trail. The *driving
member* at ``t`` is the member whose weighted exposure pushes hardest in the
direction of the mixed exposure (the largest ``|weight_m * exposure_m|`` when
the mix is flat).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.experts.history import InstrumentHistory
from mm_drex.experts.schema import RiskLimits
from mm_drex.experts.templates import EXPERTS, TEMPLATES


def pool_members(catalog: Mapping[str, Any], expert: str, market: str) -> list[dict]:
    """The admitted members of ``expert``'s regime pools that serve ``market``.

    Each item: ``member_id, regime, scope, template, params, score``, in
    catalog order (regime, then audit rank).
    """
    members = []
    for regime in catalog["regimes"]:
        scope = catalog["scopes"][regime].get(market)
        if scope is None:
            raise ValueError(
                f"expert pools have no scope for market '{market}' (regime {regime}); "
                f"markets: {sorted(catalog['scopes'][regime])}"
            )
        for pool in catalog["pools"]:
            if (pool["expert"], pool["regime"], pool["scope"]) == (
                expert,
                regime,
                scope,
            ):
                for member in pool["members"]:
                    members.append(
                        {
                            "member_id": member["member_id"],
                            "regime": regime,
                            "scope": scope,
                            "template": member["template"],
                            "params": member["params"],
                            "score": float(member["score"]),
                        }
                    )
    if not members:
        raise ValueError(
            f"expert pools: no member of expert '{expert}' serves '{market}'"
        )
    return members


def member_weights(scores: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(scores / temperature)``."""
    if not temperature > 0:
        raise ValueError(f"experts.pooling.temperature must be > 0, got {temperature}")
    logits = np.asarray(scores, dtype=np.float64) / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def catalog_limits(catalog: Mapping[str, Any]) -> RiskLimits:
    """The risk limits the pools were searched with."""
    limits = catalog["config"]["limits"]
    return RiskLimits(float(limits["max_exposure"]), float(limits["max_turnover"]))


def member_exposures(
    history: InstrumentHistory, members: Sequence[Mapping[str, Any]], limits: RiskLimits
) -> np.ndarray:
    """Exposures ``(T, M)`` of the members on the instrument's full history
    (one compiled risk-rule pass per template)."""
    out = np.zeros((len(history.bars), len(members)))
    by_template: dict[str, list[int]] = {}
    for index, member in enumerate(members):
        by_template.setdefault(member["template"], []).append(index)
    for name, columns in by_template.items():
        params = [members[c]["params"] for c in columns]
        out[:, columns] = TEMPLATES[name].target_exposures(history.bars, params, limits)
    return out


def combine_members(
    exposures: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mixed exposure ``(T,)`` and the driving member's column index ``(T,)``."""
    contributions = exposures * weights[None, :]
    combined = contributions.sum(axis=1)
    direction = np.sign(combined)[:, None]
    push = np.where(direction != 0.0, contributions * direction, np.abs(contributions))
    return combined, np.argmax(push, axis=1)


def expert_exposure_table(
    histories: Sequence[InstrumentHistory],
    catalog: Mapping[str, Any],
    temperature: float,
    experts: Sequence[str] = EXPERTS,
) -> pd.DataFrame:
    """``expert_exposures``: one row per (instrument, bar, expert).

    Columns: ``instrument, timestamp, t`` (bar index), ``segment, expert,
    exposure`` (in ``[-1, 1]``, decided at the close of ``t``),
    ``driving_member, driving_template``, ``exposure_<regime>`` (that regime's
    pool alone) and ``n_members``. Exposures are computed on each instrument's
    full causal history: a rule is flat until its indicators are warm, except
    the positioning rules that need none (a core long is held from the start).
    """
    limits = catalog_limits(catalog)
    regimes = list(catalog["regimes"])
    frames = []
    for history in histories:
        n_bars = len(history.bars)
        for expert in experts:
            members = pool_members(catalog, expert, history.market)
            exposures = member_exposures(history, members, limits)
            weights = member_weights(
                np.array([m["score"] for m in members]), temperature
            )
            combined, driver = combine_members(exposures, weights)
            # a convex mix of members within the limit; clip the rounding
            bound = limits.max_exposure
            combined = np.clip(combined, -bound, bound)
            ids = np.array([m["member_id"] for m in members], dtype=object)
            templates = np.array([m["template"] for m in members], dtype=object)
            frame = {
                "instrument": history.instrument,
                "timestamp": history.timestamps,
                "t": np.arange(n_bars, dtype=np.int64),
                "segment": history.segment,
                "expert": expert,
                "exposure": combined,
                "driving_member": ids[driver],
                "driving_template": templates[driver],
            }
            for regime in regimes:
                columns = [i for i, m in enumerate(members) if m["regime"] == regime]
                within = weights[columns] / weights[columns].sum()
                frame[f"exposure_{regime}"] = np.clip(
                    exposures[:, columns] @ within, -bound, bound
                )
            frame["n_members"] = len(members)
            frames.append(pd.DataFrame(frame))
    table = pd.concat(frames, ignore_index=True)
    order = {
        "instrument": {h.instrument: i for i, h in enumerate(histories)},
        "expert": {name: i for i, name in enumerate(experts)},
    }
    table = table.sort_values(
        ["instrument", "t", "expert"],
        key=lambda c: c.map(order[c.name]) if c.name in order else c,
        kind="stable",
    )
    return table.reset_index(drop=True)
