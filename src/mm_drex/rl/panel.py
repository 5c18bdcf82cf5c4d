"""The RL stage's view of the data: one row per decision point, all aligned.

A decision point is an (instrument, bar ``t``) where the router has spoken
(``router_weights`` / ``router_states``: every charted bar). The **panel**
joins there, by (instrument, timestamp):

- the frozen router's state ``z`` (``z_00 ...``), regime probabilities
  ``p_<regime>`` and SFT weights ``w_sft_<expert>``;
- each expert's exposure ``h_<expert>`` and its three regime pools' exposures
  ``h_<expert>_<regime>``, the driving pool member (audit trail), and the pool
  prior ``prior_<expert>_<regime>`` (the share of the expert's audit-score
  mix that each regime pool carries, so that ``h_k = sum_r prior_kr h_kr``);
- the bar's asset returns (overnight ``r_co``, intraday ``r_oc``, from the
  backtest engine's :func:`mm_drex.backtest.engine.asset_returns` on the
  instrument's full history) and ``has_next`` (bar ``t+1`` exists and is the
  panel's next row);
- the chart's sha256 and the forward regime label (reporting only: never an
  input of a policy).

:class:`PanelArrays` holds the same as numpy arrays for the environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.engine import BPS, asset_returns
from mm_drex.backtest.projection import ExposureLimits, exposure_bounds
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.backtest.sleeves import market_of_instruments, resolve_cost_bps
from mm_drex.data.split import assign_segments
from mm_drex.experts.history import market_of, pooling_groups
from mm_drex.experts.pools import member_weights, pool_members
from mm_drex.experts.settings import ExpertSettings
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES

KEYS = ["instrument", "timestamp"]
REGIME_PROB_COLUMNS = [f"p_{r}" for r in REGIMES]
SFT_WEIGHT_COLUMNS = [f"w_sft_{e}" for e in EXPERTS]
EXPOSURE_COLUMNS = [f"h_{e}" for e in EXPERTS]
POOL_EXPOSURE_COLUMNS = [f"h_{e}_{r}" for e in EXPERTS for r in REGIMES]
PRIOR_COLUMNS = [f"prior_{e}_{r}" for e in EXPERTS for r in REGIMES]
MEMBER_COLUMNS = [f"member_{e}" for e in EXPERTS]


class PanelInputError(ValueError):
    """Inputs of the RL panel that do not line up; the message says where."""


def state_columns(table: pd.DataFrame) -> list[str]:
    """The ``z_*`` columns of a router-states table, in order."""
    columns = [c for c in table.columns if c.startswith("z_")]
    if not columns:
        raise PanelInputError(
            f"router_states has no z_* columns; it has {list(table.columns)}"
        )
    return columns


def pool_priors(
    catalog: Mapping[str, Any],
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    pool_by: str,
    temperature: float,
    experts: Sequence[str] = EXPERTS,
) -> pd.DataFrame:
    """Share of each regime pool in each expert's mix, per instrument.

    The experts stage mixes all members of an expert's three regime pools with
    ``softmax(score / temperature)`` (:mod:`mm_drex.experts.pools`); the prior
    of regime pool ``r`` is the sum of its members' weights, so the expert's
    exposure is ``h_k = sum_r prior_kr * h_kr`` exactly.

    Returns:
        ``instrument`` and ``prior_<expert>_<regime>`` (one row per instrument).
    """
    groups = pooling_groups(instruments, markets, pool_by)
    rows = []
    for record in instruments.itertuples(index=False):
        market = market_of(str(record.asset_class), groups)
        row: dict[str, Any] = {"instrument": record.instrument}
        for expert in experts:
            members = pool_members(catalog, expert, market)
            weights = member_weights(
                np.array([m["score"] for m in members]), temperature
            )
            for regime in REGIMES:
                row[f"prior_{expert}_{regime}"] = float(
                    sum(
                        w
                        for w, m in zip(weights, members, strict=True)
                        if m["regime"] == regime
                    )
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _one_to_one(
    left: pd.DataFrame, right: pd.DataFrame, columns: Sequence[str], name: str
) -> pd.DataFrame:
    """Left-join ``right[columns]`` on (instrument, timestamp); every left row
    must find exactly one row."""
    missing = [c for c in [*KEYS, *columns] if c not in right.columns]
    if missing:
        raise PanelInputError(
            f"{name} lacks column(s) {missing}; it has {list(right.columns)}"
        )
    duplicated = right.duplicated(KEYS)
    if duplicated.any():
        row = right[duplicated].iloc[0]
        raise PanelInputError(
            f"{name}: two rows for instrument {row['instrument']} at {row['timestamp']}"
        )
    merged = left.merge(right[[*KEYS, *columns]], on=KEYS, how="left", indicator=True)
    absent = (merged["_merge"] != "both").to_numpy()
    if absent.any():
        row = merged[absent].iloc[0]
        raise PanelInputError(
            f"{name}: no row for decision point instrument {row['instrument']}, "
            f"timestamp {row['timestamp']} (column {columns[0]!r}; "
            f"{int(absent.sum())} missing)"
        )
    return merged.drop(columns="_merge")


def _wide_experts(expert_exposures: pd.DataFrame) -> pd.DataFrame:
    """``expert_exposures`` (one row per expert) -> one row per (instrument, bar)."""
    needed = [
        *KEYS,
        "expert",
        "exposure",
        "driving_member",
        *[f"exposure_{r}" for r in REGIMES],
    ]
    missing = [c for c in needed if c not in expert_exposures.columns]
    if missing:
        raise PanelInputError(
            f"expert_exposures lacks column(s) {missing}; "
            f"it has {list(expert_exposures.columns)}"
        )
    absent = sorted(set(EXPERTS) - set(expert_exposures["expert"]))
    if absent:
        raise PanelInputError(f"expert_exposures has no rows for expert(s) {absent}")
    table = expert_exposures[expert_exposures["expert"].isin(EXPERTS)]
    values = ["exposure", *[f"exposure_{r}" for r in REGIMES], "driving_member"]
    wide = table.pivot(index=KEYS, columns="expert", values=values)
    out = pd.DataFrame(index=wide.index)
    for expert in EXPERTS:
        out[f"h_{expert}"] = wide[("exposure", expert)].astype(float)
        for regime in REGIMES:
            out[f"h_{expert}_{regime}"] = wide[(f"exposure_{regime}", expert)].astype(
                float
            )
        out[f"member_{expert}"] = wide[("driving_member", expert)].astype(str)
    return out.reset_index()


def stage_panel(
    router_weights: pd.DataFrame,
    router_states: pd.DataFrame,
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    chart_index: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: Mapping[str, Any],
    experts: ExpertSettings,
    markets: Mapping[str, Sequence[str]],
    no_chart_weights: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`build_panel` with the experts' pool priors (their pooling
    settings) and, when given and not empty, the no-chart router's weights."""
    priors = pool_priors(
        expert_pools,
        instruments,
        markets,
        experts.pool_by,
        experts.pooling.temperature,
    )
    extra = None
    if no_chart_weights is not None and len(no_chart_weights):
        extra = {"no_chart": no_chart_weights}
    return build_panel(
        router_weights,
        router_states,
        expert_exposures,
        ohlcv,
        instruments,
        split,
        chart_index,
        regimes,
        priors,
        markets,
        extra_weights=extra,
    )


def build_panel(
    router_weights: pd.DataFrame,
    router_states: pd.DataFrame,
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    chart_index: pd.DataFrame,
    regimes: pd.DataFrame,
    priors: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    extra_weights: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The panel (module docstring), one row per decision point of ``router_weights``.

    Args:
        router_weights: ``instrument, timestamp, p_<regime>, w_<expert>``.
        router_states: ``instrument, timestamp, z_*`` on the same points.
        expert_exposures: the experts stage's long table.
        ohlcv, instruments, split: ingestion's tables.
        chart_index: ``instrument, timestamp, sha256``.
        regimes: ``instrument, timestamp, regime`` (labels; reporting only).
        priors: :func:`pool_priors` output.
        markets: ``backtest.markets`` (market -> asset classes).
        extra_weights: other routers' weights by name (e.g. ``no_chart``),
            each with ``w_<expert>`` columns; they become ``w_<name>_<expert>``
            (NaN on decision points they do not cover).

    Returns:
        The panel, sorted by instrument (universe order) then time.
    """
    points = router_weights[KEYS].copy()
    points = _one_to_one(
        points,
        router_weights,
        [*REGIME_PROB_COLUMNS, *[f"w_{e}" for e in EXPERTS]],
        "router_weights",
    )
    points = points.rename(columns={f"w_{e}": f"w_sft_{e}" for e in EXPERTS})
    for name, table in dict(extra_weights or {}).items():
        # another router may cover only some segments (e.g. val and test)
        columns = [f"w_{e}" for e in EXPERTS]
        extra = table[[*KEYS, *columns]].rename(
            columns={c: f"w_{name}_{c[2:]}" for c in columns}
        )
        if extra.duplicated(KEYS).any():
            raise PanelInputError(f"{name}: duplicated (instrument, timestamp) rows")
        points = points.merge(extra, on=KEYS, how="left")
    points = _one_to_one(
        points, router_states, state_columns(router_states), "router_states"
    )

    bars = ohlcv[[*KEYS, "open", "close"]].copy()
    bars["segment"] = assign_segments(ohlcv, split).to_numpy()
    bars["t"] = ohlcv.groupby("instrument", sort=False).cumcount().to_numpy()
    r_co, r_oc = [], []
    for _, rows in ohlcv.groupby("instrument", sort=False):
        overnight, intraday = asset_returns(
            rows["open"].to_numpy(float), rows["close"].to_numpy(float)
        )
        r_co.append(overnight)
        r_oc.append(intraday)
    bars["r_co"] = np.concatenate(r_co)
    bars["r_oc"] = np.concatenate(r_oc)
    points = _one_to_one(
        points, bars, ["t", "segment", "open", "close", "r_co", "r_oc"], "ohlcv"
    )

    points = _one_to_one(
        points,
        _wide_experts(expert_exposures),
        [*EXPOSURE_COLUMNS, *POOL_EXPOSURE_COLUMNS, *MEMBER_COLUMNS],
        "expert_exposures",
    )
    points = _one_to_one(
        points,
        chart_index.rename(columns={"sha256": "chart_sha256"}),
        ["chart_sha256"],
        "chart_index",
    )
    labels = regimes[[*KEYS, "regime"]]
    points = points.merge(labels, on=KEYS, how="left")
    missing = sorted(set(points["instrument"]) - set(priors["instrument"]))
    if missing:
        raise PanelInputError(f"pool priors: no row for instrument(s) {missing}")
    points = points.merge(priors, on="instrument", how="left")
    points["market"] = (
        points["instrument"].map(market_of_instruments(instruments, markets)).fillna("")
    )

    order = {name: i for i, name in enumerate(instruments["instrument"])}
    points = points.sort_values(
        ["instrument", "t"], key=lambda c: c.map(order) if c.name == "instrument" else c
    ).reset_index(drop=True)
    same_instrument = points["instrument"].shift(-1) == points["instrument"]
    points["has_next"] = (
        same_instrument & (points["t"].shift(-1) == points["t"] + 1)
    ).to_numpy()
    z = state_columns(points)
    head = [
        "instrument",
        "timestamp",
        "t",
        "segment",
        "market",
        "regime",
        "chart_sha256",
    ]
    rest = [c for c in points.columns if c not in head and c not in z]
    points = points[[*head, *rest, *z]]
    points["instrument"] = points["instrument"].astype(str)
    points["segment"] = points["segment"].astype(str)
    return points


@dataclass
class PanelArrays:
    """The panel as arrays for the environment (``N`` decision points).

    Attributes:
        z: ``(N, D)`` router state; regime_probs ``(N, 3)``; sft_weights ``(N, 4)``.
        exposures: ``(N, 4)`` experts' exposures; pool_exposures ``(N, 4, 3)``;
            pool_prior ``(N, 4, 3)``.
        open_price, close_price: ``(N,)`` prices of bar ``t``.
        overnight, intraday: ``(N,)`` returns of bar ``t`` (close ``t-1`` ->
            open ``t``, open -> close ``t``).
        has_next: ``(N,)`` bar ``t+1`` is row ``i+1``.
        segment, instrument: ``(N,)`` labels; instrument_id ``(N,)`` int.
        cost_rate, lower, upper, periods_per_year, allow_short: ``(N,)`` per
            row (from the instrument): cost per unit traded, exposure bounds,
            annualisation, shorts allowed.
        extra_weights: other routers' weights ``(N, 4)`` by name.
    """

    z: np.ndarray
    regime_probs: np.ndarray
    sft_weights: np.ndarray
    exposures: np.ndarray
    pool_exposures: np.ndarray
    pool_prior: np.ndarray
    open_price: np.ndarray
    close_price: np.ndarray
    overnight: np.ndarray
    intraday: np.ndarray
    has_next: np.ndarray
    segment: np.ndarray
    instrument: np.ndarray
    instrument_id: np.ndarray
    market: np.ndarray
    cost_rate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    periods_per_year: np.ndarray
    allow_short: np.ndarray
    extra_weights: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.z)

    @classmethod
    def for_backtest(
        cls,
        panel: pd.DataFrame,
        instruments: pd.DataFrame,
        backtest: BacktestSettings,
    ) -> PanelArrays:
        """:meth:`from_panel` with the backtest's limits and costs."""
        return cls.from_panel(
            panel, instruments, backtest.limits, backtest.cost_override_bps
        )

    @classmethod
    def from_panel(
        cls,
        panel: pd.DataFrame,
        instruments: pd.DataFrame,
        limits: ExposureLimits | None = None,
        cost_override_bps: Mapping[str, float] | None = None,
    ) -> PanelArrays:
        """Arrays of :func:`build_panel` output, with costs and bounds per row
        resolved exactly as the backtest does (same costs, same limits)."""
        limits = limits or ExposureLimits()
        info = instruments.set_index("instrument")
        unknown = sorted(set(panel["instrument"]) - set(info.index))
        if unknown:
            raise PanelInputError(f"panel: instrument(s) {unknown} not in instruments")
        costs = resolve_cost_bps(instruments, cost_override_bps)
        names = panel["instrument"].to_numpy(dtype=object)
        lower, upper = exposure_bounds(
            info.loc[names, "allow_short"].to_numpy(bool), limits.max_gross_exposure
        )
        order = {name: i for i, name in enumerate(instruments["instrument"])}
        # other routers' weights: columns w_<name>_<expert> besides w_sft_<expert>
        first = f"_{EXPERTS[0]}"
        names_extra = sorted(
            c[len("w_") : -len(first)]
            for c in panel.columns
            if c.startswith("w_") and c.endswith(first) and c != f"w_sft{first}"
        )
        extra = {
            name: panel[[f"w_{name}_{e}" for e in EXPERTS]].to_numpy(float)
            for name in names_extra
        }
        n = len(panel)
        return cls(
            z=panel[state_columns(panel)].to_numpy(np.float32),
            regime_probs=panel[REGIME_PROB_COLUMNS].to_numpy(float),
            sft_weights=panel[SFT_WEIGHT_COLUMNS].to_numpy(float),
            exposures=panel[EXPOSURE_COLUMNS].to_numpy(float),
            pool_exposures=panel[POOL_EXPOSURE_COLUMNS]
            .to_numpy(float)
            .reshape(n, len(EXPERTS), len(REGIMES)),
            pool_prior=panel[PRIOR_COLUMNS]
            .to_numpy(float)
            .reshape(n, len(EXPERTS), len(REGIMES)),
            open_price=panel["open"].to_numpy(float),
            close_price=panel["close"].to_numpy(float),
            overnight=panel["r_co"].to_numpy(float),
            intraday=panel["r_oc"].to_numpy(float),
            has_next=panel["has_next"].to_numpy(bool),
            segment=panel["segment"].to_numpy(dtype=object),
            instrument=names,
            instrument_id=panel["instrument"].map(order).to_numpy(np.int64),
            market=panel["market"].to_numpy(dtype=object),
            cost_rate=costs.loc[names].to_numpy(float) * BPS,
            lower=lower,
            upper=upper,
            periods_per_year=info.loc[names, "periods_per_year"].to_numpy(float),
            allow_short=info.loc[names, "allow_short"].to_numpy(bool),
            extra_weights=extra,
        )

    def segment_runs(self, segment: str) -> list[tuple[int, int]]:
        """``[(first_row, stop_row)]`` per instrument: its contiguous rows of ``segment``."""
        runs = []
        in_segment = self.segment == segment
        for instrument_id in np.unique(self.instrument_id):
            rows = np.flatnonzero(in_segment & (self.instrument_id == instrument_id))
            if len(rows) == 0:
                continue
            if np.any(np.diff(rows) != 1):
                raise PanelInputError(
                    f"panel: the '{segment}' rows of {self.instrument[rows[0]]} are "
                    "not contiguous (missing router outputs inside the segment)"
                )
            runs.append((int(rows[0]), int(rows[-1]) + 1))
        return runs
