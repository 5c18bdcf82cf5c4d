"""Long tables <-> engine arrays: sleeves, market portfolios and metrics tables.

A **sleeve** is one (strategy, seed, instrument): its own NAV, starting at 1 at
the close of the first bar of the evaluated segment. The exposure table
(``strategy, seed, instrument, timestamp, target_exposure``) may cover the full
history; only the decisions on the evaluated segment's bars are traded, so
indicators are warm at the segment start. Each instrument is simulated on its
own calendar, all its sleeves at once (one ``(T, P)`` array).

A **market** portfolio is the equal weight of its instruments' sleeves,
rebalanced every trading date of the common calendar
(:mod:`mm_drex.data.calendar`): each sleeve's return on a trading date (in its
exchange's time zone) compounds its bars of that date, and the market's return
is the mean over the sleeves that trade on the date (the cost of rebalancing
between sleeves is not charged). A market of daily members that agree on
``periods_per_year`` is annualised with it; any other (a 24/7 market beside a
weekday one, intraday members) with the trading dates per year observed in
its own series. The **equal-market average** is the mean of each metric over
the markets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.engine import simulate
from mm_drex.backtest.metrics import (
    METRIC_NAMES,
    BootstrapSettings,
    performance_summary,
    sharpe_confidence_interval,
    sharpe_difference_interval,
    sharpe_ratio,
)
from mm_drex.backtest.projection import ExposureLimits
from mm_drex.data.calendar import UTC, observed_periods_per_year, trading_dates

EXPOSURE_COLUMNS = ["strategy", "seed", "instrument", "timestamp", "target_exposure"]
SLEEVE_KEYS = ["strategy", "seed", "instrument"]
POSITION_VALUE_COLUMNS = [
    "target_exposure",
    "delta_bounds",
    "delta_leverage",
    "delta_turnover",
    "projected_exposure",
    "exposure",
    "turnover",
    "cost",
    "net_return",
    "nav",
]
POSITION_COLUMNS = [*SLEEVE_KEYS, "timestamp", *POSITION_VALUE_COLUMNS]
MARKET_RETURN_COLUMNS = [
    "strategy",
    "seed",
    "market",
    "timestamp",
    "n_instruments",
    "net_return",
    "turnover",
    "nav",
]
AVERAGE_NAME = "equal_market_average"
# An instrument with at most this many bars per year is daily (or coarser):
# 365 days plus slack for a bar on each calendar day of a leap year.
DAILY_PERIODS_MAX = 370.0
METRIC_ID_COLUMNS = [
    "strategy",
    "seed",
    "level",
    "name",
    "market",
    "periods_per_year",
    "n_returns",
    "start",
    "end",
]
CI_COLUMNS = ["sharpe_ci_low", "sharpe_ci_high"]
SHARPE_TEST_COLUMNS = [
    "strategy",
    "seed",
    "benchmark",
    "level",
    "name",
    "n_returns",
    "sharpe",
    "benchmark_sharpe",
    "sharpe_difference",
    "ci_low",
    "ci_high",
    "significant",
]


class BacktestInputError(ValueError):
    """Bad exposures or configuration; the message names what and where."""


# ---- configuration -----------------------------------------------------------


def resolve_cost_bps(
    instruments: pd.DataFrame, override_bps: Mapping[str, float] | None = None
) -> pd.Series:
    """Cost in bps per instrument.

    The ``instruments`` table's ``cost_bps`` (ingestion's asset-class presets
    and per-instrument overrides) is the default. ``override_bps`` (parameters
    ``backtest.costs.override_bps``) replaces it, most specific key first:
    instrument name, then asset class, then ``all`` (a cost-sensitivity run).
    """
    override_bps = dict(override_bps or {})
    known = {"all", *instruments["instrument"], *instruments["asset_class"]}
    unknown = sorted(set(override_bps) - known)
    if unknown:
        raise BacktestInputError(
            f"parameters backtest.costs.override_bps: unknown key(s) {unknown}; keys "
            f"are 'all', an asset class or an instrument of {sorted(known - {'all'})}"
        )
    costs = {}
    for row in instruments.itertuples(index=False):
        cost = override_bps.get(
            row.instrument,
            override_bps.get(row.asset_class, override_bps.get("all", row.cost_bps)),
        )
        costs[row.instrument] = float(cost)
    return pd.Series(costs, name="cost_bps")


def market_of_instruments(
    instruments: pd.DataFrame, markets: Mapping[str, Sequence[str]]
) -> pd.Series:
    """Market name per instrument (instruments of no market are left out)."""
    market_of_class: dict[str, str] = {}
    for market, classes in markets.items():
        for asset_class in classes:
            if asset_class in market_of_class:
                raise BacktestInputError(
                    f"parameters backtest.markets: asset class '{asset_class}' is in "
                    f"both '{market_of_class[asset_class]}' and '{market}'"
                )
            market_of_class[asset_class] = market
    mapped = instruments.set_index("instrument")["asset_class"].map(market_of_class)
    return mapped.dropna().rename("market")


def segment_bars(
    ohlcv: pd.DataFrame, split: pd.DataFrame, segment: str
) -> pd.DataFrame:
    """The bars of one segment (``train``, ``val``, ``test``) of every instrument."""
    rows = split[split["segment"] == segment]
    if rows.empty:
        raise BacktestInputError(
            f"parameters backtest.segment: '{segment}' is not in the split "
            f"(segments: {sorted(split['segment'].unique())})"
        )
    position = ohlcv.groupby("instrument", sort=False).cumcount()
    bounds = rows.set_index("instrument")[["start_idx", "end_idx"]]
    start = ohlcv["instrument"].map(bounds["start_idx"])
    end = ohlcv["instrument"].map(bounds["end_idx"])
    return ohlcv[(position >= start) & (position < end)].reset_index(drop=True)


# ---- exposures -> positions ---------------------------------------------------


def _check_exposures(exposures: pd.DataFrame) -> pd.DataFrame:
    if "seed" not in exposures.columns:
        exposures = exposures.assign(seed=0)
    missing = [c for c in EXPOSURE_COLUMNS if c not in exposures.columns]
    if missing:
        raise BacktestInputError(
            f"exposures: missing column(s) {missing}; expected {EXPOSURE_COLUMNS}"
        )
    duplicated = exposures.duplicated(SLEEVE_KEYS + ["timestamp"])
    if duplicated.any():
        row = exposures[duplicated].iloc[0]
        raise BacktestInputError(
            f"exposures: strategy {row['strategy']}, seed {row['seed']}, instrument "
            f"{row['instrument']}, timestamp {row['timestamp']}: duplicated decision "
            f"({int(duplicated.sum())} duplicate row(s))"
        )
    return exposures[EXPOSURE_COLUMNS]


def collect_exposures(*tables: pd.DataFrame) -> pd.DataFrame:
    """Every strategy's exposure table in one (``strategy, seed, instrument,
    timestamp, target_exposure``), in the order given; a strategy may come
    from one table only."""
    owner: dict[str, int] = {}
    for index, table in enumerate(tables):
        for strategy in table["strategy"].unique():
            if owner.setdefault(strategy, index) != index:
                raise BacktestInputError(
                    f"strategy {strategy} is in exposure tables #{owner[strategy]} and "
                    f"#{index}: every strategy needs a unique name"
                )
    return pd.concat(tables, ignore_index=True)


def run_backtest(
    exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    segment: str = "test",
    limits: ExposureLimits | None = None,
    cost_override_bps: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Simulate every sleeve of ``exposures`` on one segment.

    Args:
        exposures: long table ``strategy, [seed], instrument, timestamp,
            target_exposure`` (decision at the close of ``timestamp``); it must
            have a decision for every bar of the segment of each instrument it
            names, and may hold other bars too.
        ohlcv, instruments, split: ingestion's tables.
        segment: the evaluated segment.
        limits: risk limits; cost_override_bps: see :func:`resolve_cost_bps`.

    Returns:
        ``positions``: one row per (strategy, seed, instrument, timestamp) of
        the segment with the columns of :data:`POSITION_COLUMNS` (meanings in
        :class:`mm_drex.backtest.engine.Simulation`).
    """
    limits = limits or ExposureLimits()
    exposures = _check_exposures(exposures)
    unknown = sorted(set(exposures["instrument"]) - set(instruments["instrument"]))
    if unknown:
        raise BacktestInputError(
            f"exposures: unknown instrument(s) {unknown}; the universe is "
            f"{list(instruments['instrument'])}"
        )
    costs = resolve_cost_bps(instruments, cost_override_bps)
    bars = segment_bars(ohlcv, split, segment)
    info = instruments.set_index("instrument")
    frames = []
    for instrument, sleeve_exposures in exposures.groupby("instrument", sort=False):
        instrument_bars = bars[bars["instrument"] == instrument]
        timestamps = instrument_bars["timestamp"].to_numpy()
        wide = sleeve_exposures.pivot(
            index="timestamp", columns=["strategy", "seed"], values="target_exposure"
        ).reindex(timestamps)
        missing = wide.isna().to_numpy()
        if missing.any():
            t, p = np.argwhere(missing)[0]
            strategy, seed = wide.columns[p]
            raise BacktestInputError(
                f"exposures: strategy {strategy}, seed {seed}, instrument "
                f"{instrument}, timestamp {pd.Timestamp(timestamps[t])}: no target "
                f"exposure (or NaN) on a bar of the '{segment}' segment "
                f"({int(missing.sum())} missing); decisions are needed on every bar"
            )
        result = simulate(
            wide.to_numpy(dtype=float),
            instrument_bars["open"].to_numpy(),
            instrument_bars["close"].to_numpy(),
            cost_bps=costs[instrument],
            allow_short=bool(info.loc[instrument, "allow_short"]),
            limits=limits,
            timestamps=[pd.Timestamp(t) for t in timestamps],
            instruments=[instrument],
            sleeves=[f"{s}/seed {d}" for s, d in wide.columns],
        )
        n_bars, n_sleeves = wide.shape
        columns = {
            "strategy": np.repeat(wide.columns.get_level_values(0), n_bars),
            "seed": np.repeat(wide.columns.get_level_values(1), n_bars),
            "instrument": instrument,
            "timestamp": np.tile(timestamps, n_sleeves),
        }
        for name, values in result.as_dict().items():
            columns[name] = values.T.ravel()
        frames.append(pd.DataFrame(columns, columns=POSITION_COLUMNS))
    if not frames:
        raise BacktestInputError("exposures: the table is empty")
    positions = pd.concat(frames, ignore_index=True)
    order = {name: i for i, name in enumerate(instruments["instrument"])}
    positions = positions.sort_values(
        ["strategy", "seed", "instrument", "timestamp"],
        key=lambda c: c.map(order) if c.name == "instrument" else c,
        kind="stable",
    )
    positions["instrument"] = positions["instrument"].astype(str)
    positions["strategy"] = positions["strategy"].astype(str)
    positions["seed"] = positions["seed"].astype(np.int64)
    return positions.reset_index(drop=True)


def sleeve_returns(positions: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``positions`` that carry a return (all but each sleeve's first)."""
    first = positions.groupby(SLEEVE_KEYS, sort=False).cumcount() == 0
    return positions[~first]


# ---- market portfolios -----------------------------------------------------------


def instrument_timezones(instruments: pd.DataFrame) -> pd.Series:
    """Exchange time zone per instrument (UTC where the table has none)."""
    table = instruments.set_index("instrument")
    if "timezone" not in table.columns:
        return pd.Series(UTC, index=table.index, name="timezone")
    return table["timezone"].fillna(UTC).astype(str)


def with_trading_dates(rows: pd.DataFrame, instruments: pd.DataFrame) -> pd.Series:
    """The trading date of each row (``instrument``, ``timestamp``) in its
    exchange's time zone (:mod:`mm_drex.data.calendar`)."""
    zones = instrument_timezones(instruments)
    dates = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns]")
    for zone, members in rows.groupby(rows["instrument"].map(zones), sort=False):
        dates.loc[members.index] = trading_dates(
            members["timestamp"].to_numpy(), str(zone)
        ).to_numpy()
    return dates


def market_returns(
    positions: pd.DataFrame,
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Equal-weight market portfolios of the sleeves, per (strategy, seed, market).

    Sleeves meet on the common calendar: a sleeve's return on a trading date
    (its exchange's time zone) compounds its bars of that date, and the market's
    return on the date is the mean over the sleeves that trade on it.

    Returns:
        ``strategy, seed, market, timestamp, n_instruments, net_return,
        turnover, nav``: ``timestamp`` is the trading date; ``turnover`` is the
        mean of the sleeves' turnover on the date.
    """
    market_of = market_of_instruments(instruments, markets)
    returns = sleeve_returns(positions)
    returns = returns.assign(market=returns["instrument"].map(market_of)).dropna(
        subset=["market"]
    )
    keys = ["strategy", "seed", "market", "instrument", "trading_date"]
    returns = returns.assign(trading_date=with_trading_dates(returns, instruments))
    returns = returns.assign(
        growth=(1.0 + returns["net_return"])
        .groupby([returns[k] for k in keys], sort=False, observed=True)
        .cumprod()
    )
    daily = (
        returns.groupby(keys, sort=False, observed=True)
        .agg(
            bars=("net_return", "size"),
            net_return=("net_return", "first"),
            growth=("growth", "last"),
            turnover=("turnover", "sum"),
        )
        .reset_index()
    )
    # one bar on the date: its own return, bit for bit; several: compounded
    several = daily["bars"] > 1
    daily.loc[several, "net_return"] = daily.loc[several, "growth"] - 1.0
    grouped = daily.groupby(
        ["strategy", "seed", "market", "trading_date"], sort=True, observed=True
    )
    table = grouped.agg(
        n_instruments=("instrument", "size"),
        net_return=("net_return", "mean"),
        turnover=("turnover", "mean"),
    ).reset_index()
    table = table.rename(columns={"trading_date": "timestamp"})
    growth = 1.0 + table["net_return"]
    table["nav"] = growth.groupby(
        [table["strategy"], table["seed"], table["market"]], sort=False
    ).cumprod()
    market_order = {name: i for i, name in enumerate(markets)}
    table = table.sort_values(
        ["strategy", "seed", "market", "timestamp"],
        key=lambda c: c.map(market_order) if c.name == "market" else c,
        kind="stable",
    )
    table["market"] = table["market"].astype(str)
    return table[MARKET_RETURN_COLUMNS].reset_index(drop=True)


def market_periods_per_year(
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    market_table: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Annualisation of each market portfolio.

    Where the members are daily (at most one bar per trading date in the
    evaluated rows) and agree on ``periods_per_year``, that value; otherwise
    (a 24/7 market beside a weekday one, intraday members) the trading dates
    per year observed in the market's own series (``market_table``).
    """
    market_of = market_of_instruments(instruments, markets)
    periods = instruments.set_index("instrument")["periods_per_year"]
    observed = (
        instruments.set_index("instrument")["observed_periods_per_year"]
        if "observed_periods_per_year" in instruments.columns
        else periods
    )
    out = {}
    for market, members in market_of.groupby(market_of, sort=False):
        values = periods.loc[members.index].unique()
        daily = bool((observed.loc[members.index] <= DAILY_PERIODS_MAX).all())
        if len(values) == 1 and daily:
            out[str(market)] = int(values[0])
            continue
        dates = (
            market_table.loc[market_table["market"] == market, "timestamp"]
            if market_table is not None
            else pd.Series(dtype="datetime64[ns]")
        )
        if dates.nunique() < 2:
            detail = ", ".join(f"{i}: {periods[i]}" for i in members.index)
            raise BacktestInputError(
                f"parameters backtest.markets.{market}: its instruments disagree on "
                f"periods_per_year ({detail}) and the market has too few trading "
                "dates to observe its own"
            )
        out[str(market)] = max(1, round(observed_periods_per_year(dates.unique())))
    return out


# ---- metrics ----------------------------------------------------------------


def _metric_row(
    ids: dict[str, Any],
    returns: np.ndarray,
    turnover: np.ndarray,
    timestamps: np.ndarray,
    periods_per_year: int,
    bootstrap: BootstrapSettings,
) -> dict[str, Any]:
    summary = performance_summary(returns, periods_per_year, turnover)
    interval = sharpe_confidence_interval(
        returns, periods_per_year, **bootstrap.interval_args()
    )
    return {
        **ids,
        "periods_per_year": periods_per_year,
        "n_returns": len(returns),
        "start": timestamps[0],
        "end": timestamps[-1],
        **{k: float(v) for k, v in summary.items()},
        "sharpe_ci_low": interval.low,
        "sharpe_ci_high": interval.high,
    }


def compute_metrics(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    bootstrap: BootstrapSettings | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Metrics per sleeve (level ``instrument``), market and equal-market average.

    Returns:
        One row per (strategy, seed, level, name): :data:`METRIC_ID_COLUMNS`,
        :data:`METRIC_NAMES` and the Sharpe bootstrap interval
        (:data:`CI_COLUMNS`, NaN for the average).
    """
    bootstrap = BootstrapSettings.of(bootstrap)
    market_of = market_of_instruments(instruments, markets)
    periods = instruments.set_index("instrument")["periods_per_year"]
    rows = []
    for (strategy, seed, instrument), sleeve in sleeve_returns(positions).groupby(
        SLEEVE_KEYS, sort=False
    ):
        ids = {
            "strategy": strategy,
            "seed": seed,
            "level": "instrument",
            "name": instrument,
            "market": market_of.get(instrument, ""),
        }
        rows.append(
            _metric_row(
                ids,
                sleeve["net_return"].to_numpy(),
                sleeve["turnover"].to_numpy(),
                sleeve["timestamp"].to_numpy(),
                int(periods[instrument]),
                bootstrap,
            )
        )
    market_periods = market_periods_per_year(instruments, markets, market_table)
    market_rows = []
    for (strategy, seed, market), table in market_table.groupby(
        ["strategy", "seed", "market"], sort=False
    ):
        ids = {
            "strategy": strategy,
            "seed": seed,
            "level": "market",
            "name": market,
            "market": market,
        }
        market_rows.append(
            _metric_row(
                ids,
                table["net_return"].to_numpy(),
                table["turnover"].to_numpy(),
                table["timestamp"].to_numpy(),
                market_periods[market],
                bootstrap,
            )
        )
    rows.extend(market_rows)
    if market_rows:
        by_market = pd.DataFrame(market_rows)
        for (strategy, seed), group in by_market.groupby(
            ["strategy", "seed"], sort=False
        ):
            rows.append(
                {
                    "strategy": strategy,
                    "seed": seed,
                    "level": "average",
                    "name": AVERAGE_NAME,
                    "market": "",
                    "periods_per_year": np.nan,
                    "n_returns": int(group["n_returns"].sum()),
                    "start": group["start"].min(),
                    "end": group["end"].max(),
                    **{m: float(group[m].mean()) for m in METRIC_NAMES},
                    **{c: np.nan for c in CI_COLUMNS},
                }
            )
    metrics = pd.DataFrame(
        rows, columns=[*METRIC_ID_COLUMNS, *METRIC_NAMES, *CI_COLUMNS]
    )
    metrics["periods_per_year"] = metrics["periods_per_year"].astype(float)
    metrics["seed"] = metrics["seed"].astype(np.int64)
    for column in ("strategy", "level", "name", "market"):
        metrics[column] = metrics[column].astype(str)
    return metrics


def sharpe_tests(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    benchmark: str,
    bootstrap: BootstrapSettings | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Bootstrap interval of ``Sharpe(strategy) - Sharpe(benchmark)``.

    One row per (strategy, seed) other than the benchmark, per instrument and
    market, on the bars both have (the benchmark's lowest seed). ``significant``
    is True when the interval excludes 0. Empty when the benchmark is absent.
    """
    bootstrap = BootstrapSettings.of(bootstrap)
    periods = {
        "instrument": instruments.set_index("instrument")["periods_per_year"],
        "market": pd.Series(
            market_periods_per_year(instruments, markets, market_table)
        ),
    }
    series = {
        "instrument": sleeve_returns(positions).rename(columns={"instrument": "name"}),
        "market": market_table.rename(columns={"market": "name"}),
    }
    rows = []
    for level, table in series.items():
        reference = table[table["strategy"] == benchmark]
        if reference.empty:
            continue
        reference = reference[reference["seed"] == reference["seed"].min()]
        reference = reference.set_index(["name", "timestamp"])["net_return"]
        others = table[table["strategy"] != benchmark]
        for (strategy, seed, name), group in others.groupby(
            ["strategy", "seed", "name"], sort=False
        ):
            joined = group.set_index(["name", "timestamp"])["net_return"].to_frame(
                "strategy"
            )
            joined["benchmark"] = reference
            joined = joined.dropna()
            if len(joined) < max(2, bootstrap.block_length):
                continue
            periods_per_year = int(periods[level][name])
            strategy_returns = joined["strategy"].to_numpy()
            benchmark_returns = joined["benchmark"].to_numpy()
            interval = sharpe_difference_interval(
                strategy_returns,
                benchmark_returns,
                periods_per_year,
                **bootstrap.interval_args(),
            )
            rows.append(
                {
                    "strategy": strategy,
                    "seed": seed,
                    "benchmark": benchmark,
                    "level": level,
                    "name": name,
                    "n_returns": len(joined),
                    "sharpe": float(sharpe_ratio(strategy_returns, periods_per_year)),
                    "benchmark_sharpe": float(
                        sharpe_ratio(benchmark_returns, periods_per_year)
                    ),
                    "sharpe_difference": interval.estimate,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "significant": bool(interval.low > 0 or interval.high < 0),
                }
            )
    out = pd.DataFrame(rows, columns=SHARPE_TEST_COLUMNS)
    return out.astype({"n_returns": np.int64, "significant": bool})
