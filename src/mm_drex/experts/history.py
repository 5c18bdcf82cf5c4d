"""One instrument's bars, split and regime labels as the experts stage sees them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mm_drex.data.split import assign_segments
from mm_drex.experts.schema import Bars
from mm_drex.regimes.labels import REGIMES


@dataclass
class InstrumentHistory:
    """Everything the search, the audit and the pools need about one instrument.

    ``regime_code[t]`` is the index of the bar's forward regime label in
    ``regimes`` (-1 where the label is missing: purge, incomplete horizon).
    The label at ``t`` describes bars after ``t``: it is only ever used to
    choose *which* decision bars an objective is scored on, never as an input
    to an exposure. ``search_end`` (the first validation bar) and
    ``audit_end`` (the first test bar) bound what the search and the audit
    may read: they are handed truncated bars, so no later price can reach
    them.

    ``blocks`` cuts the train segment into contiguous blocks (block index per
    bar, -1 outside train; :func:`mm_drex.experts.cross_fit.train_blocks`):
    the audit's stability check scores a candidate on each. ``held_out``
    marks the bars a cross-fitted search may not score (one block and its
    purge): :meth:`decisions` leaves them out of ``train``.
    """

    bars: Bars
    timestamps: np.ndarray
    market: str
    segment: np.ndarray
    regime_code: np.ndarray
    search_end: int
    audit_end: int
    regimes: tuple[str, ...] = REGIMES
    blocks: np.ndarray | None = None
    held_out: np.ndarray | None = None
    _views: dict[str, Bars] = field(default_factory=dict, repr=False)

    @property
    def instrument(self) -> str:
        return self.bars.instrument

    def search_bars(self) -> Bars:
        """Bars before the validation segment (train and its purge)."""
        if "search" not in self._views:
            self._views["search"] = self.bars.head(self.search_end)
        return self._views["search"]

    def audit_bars(self) -> Bars:
        """Bars before the test segment (train, val and their purges)."""
        if "audit" not in self._views:
            self._views["audit"] = self.bars.head(self.audit_end)
        return self._views["audit"]

    def decisions(self, segment: str, regime: str | None = None) -> np.ndarray:
        """Boolean mask over all bars: in ``segment`` (and labelled ``regime``);
        ``train`` without the held-out bars of a cross-fitted search."""
        mask = self.segment == segment
        if segment == "train" and self.held_out is not None:
            mask &= ~self.held_out
        if regime is not None:
            mask &= self.regime_code == self.regimes.index(regime)
        return mask

    def stability_blocks(self, regime: str) -> dict[str, np.ndarray]:
        """The decision masks the audit's stability check scores a candidate
        on (name -> mask over all bars): each train block the search may read
        (``train`` when there are no blocks), then ``val``."""
        train = self.decisions("train", regime)
        pieces = {}
        if self.blocks is None:
            pieces["train"] = train
        else:
            for block in np.unique(self.blocks[self.blocks >= 0]):
                piece = train & (self.blocks == block)
                if piece.any():
                    pieces[f"block_{int(block)}"] = piece
        pieces["val"] = self.decisions("val", regime)
        return pieces

    def labelled(self) -> np.ndarray:
        """Bars with a complete forward label (the horizon neither runs out nor
        crosses a split boundary)."""
        return self.regime_code >= 0


POOL_BY = ("market", "asset_class")


def pooling_groups(
    instruments: pd.DataFrame, markets: Mapping[str, Sequence[str]], pool_by: str
) -> dict[str, list[str]]:
    """The groups pools are searched for: the markets (group -> asset classes)
    or, with ``pool_by = "asset_class"``, every asset class on its own."""
    if pool_by == "market":
        return {name: list(classes) for name, classes in markets.items()}
    if pool_by == "asset_class":
        classes = instruments["asset_class"].astype(str).unique()
        return {name: [name] for name in classes}
    raise ValueError(f"experts.pool_by must be one of {POOL_BY}, got {pool_by!r}")


def market_histories(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    pool_by: str,
) -> list[InstrumentHistory]:
    """:func:`build_histories` with the pooling groups of ``pool_by``."""
    groups = pooling_groups(instruments, markets, pool_by)
    return build_histories(ohlcv, instruments, split, regimes, groups)


def market_of(asset_class: str, markets: Mapping[str, Sequence[str]]) -> str:
    """The market an asset class belongs to (``markets``: market -> asset classes)."""
    for market, classes in markets.items():
        if asset_class in classes:
            return market
    raise ValueError(
        f"asset class '{asset_class}' is in no market of backtest.markets {dict(markets)}"
    )


def build_histories(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    regime_names: Sequence[str] = REGIMES,
) -> list[InstrumentHistory]:
    """One :class:`InstrumentHistory` per instrument, in universe order.

    Args:
        ohlcv: long bars (ingestion contract), sorted by instrument then time.
        instruments: one row per instrument (asset_class, periods_per_year,
            cost_bps, allow_short).
        split: per (instrument, segment) bounds from ingestion.
        regimes: labeling output with ``instrument, timestamp, regime``
            (NaN where unlabelled).
        markets: market -> asset classes, e.g. ``stocks: [index, equity]``.
        regime_names: the regime labels, in code order.
    """
    regime_names = tuple(regime_names)
    labels = regimes[["instrument", "timestamp", "regime"]]
    merged = ohlcv.merge(labels, on=["instrument", "timestamp"], how="left")
    if len(merged) != len(ohlcv):
        raise ValueError("regimes has duplicate (instrument, timestamp) rows")
    unknown = sorted(set(merged["regime"].dropna()) - set(regime_names))
    if unknown:
        raise ValueError(
            f"regimes: unknown regime labels {unknown}, expected {regime_names}"
        )
    merged["segment"] = assign_segments(merged, split).to_numpy()
    meta = instruments.set_index("instrument")
    bounds = split.set_index(["instrument", "segment"])
    histories = []
    for instrument, rows in merged.groupby("instrument", sort=False):
        if instrument not in meta.index:
            raise ValueError(
                f"instrument '{instrument}' of ohlcv is missing from instruments"
            )
        info = meta.loc[instrument]
        code = np.full(len(rows), -1, dtype=np.int64)
        for index, name in enumerate(regime_names):
            code[(rows["regime"] == name).to_numpy()] = index
        bars = Bars(
            instrument=str(instrument),
            open=rows["open"].to_numpy(),
            high=rows["high"].to_numpy(),
            low=rows["low"].to_numpy(),
            close=rows["close"].to_numpy(),
            volume=rows["volume"].to_numpy(),
            periods_per_year=int(info["periods_per_year"]),
            allow_short=bool(info["allow_short"]),
            cost_bps=float(info["cost_bps"]),
        )
        histories.append(
            InstrumentHistory(
                bars=bars,
                timestamps=rows["timestamp"].to_numpy(),
                market=market_of(str(info["asset_class"]), markets),
                segment=rows["segment"].to_numpy().astype(str),
                regime_code=code,
                search_end=int(bounds.loc[(instrument, "val"), "start_idx"]),
                audit_end=int(bounds.loc[(instrument, "test"), "start_idx"]),
                regimes=regime_names,
            )
        )
    return histories
