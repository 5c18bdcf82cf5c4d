"""Baselines fitted once on several instruments (learned models and agents).

A learned model needs more data than one instrument's train segment offers,
so the learned baselines are fitted on a *pool* of instruments: each
instrument alone, each market (the backtest's ``markets``: stocks, futures,
crypto) or the whole universe (parameter ``pooling``). The pool is still
fitted on the train segments only and selected on the val segments only;
per-instrument choices (e.g. the decision band of a forecaster) are made on
that instrument's val segment. ``target_exposure(bars)`` then serves any
instrument of the pool: it reads which one from ``bars['instrument']``.

``fit(bars, segment, context)`` of the one-instrument interface is a pool of
one, so a pooled baseline is still a :class:`~mm_drex.baselines.base.Baseline`.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import torch

from mm_drex.baselines.base import Baseline, InstrumentContext
from mm_drex.baselines.data import InstrumentData, instrument_of

POOLINGS = ("instrument", "market", "universe")


class PooledBaseline(Baseline):
    """A baseline fitted on a pool of instruments (module docstring).

    Subclasses implement :meth:`_fit_pool` (the pool's histories, contexts
    already recorded) and :meth:`exposure_for` (one instrument's bars and
    context); they record per-instrument choices in ``self.selected_`` /
    ``self.scores_`` (keyed by instrument).
    """

    default_pooling: ClassVar[str] = "universe"

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 42):
        super().__init__(params, seed)
        self.contexts_: dict[str, InstrumentContext] = {}
        self.selected_: dict[str, dict[str, Any]] = {}
        self.scores_: dict[str, float] = {}

    @property
    def pooling(self) -> str:
        pooling = self.params.get("pooling", self.default_pooling)
        if pooling not in POOLINGS:
            raise ValueError(
                f"baseline {self.name}: pooling must be one of {POOLINGS}, got {pooling!r}"
            )
        return pooling

    def fit(
        self, bars: pd.DataFrame, segment: np.ndarray, context: InstrumentContext
    ) -> Self:
        return self.fit_pooled([InstrumentData(bars, np.asarray(segment), context)])

    def fit_pooled(self, histories: Sequence[InstrumentData]) -> Self:
        """Fit on the train segments of ``histories``, select on their val segments."""
        if not histories:
            raise ValueError(f"baseline {self.name}: an empty pool")
        self.contexts_ = {h.instrument: h.context for h in histories}
        self.context = histories[0].context
        return self._fit_pool(list(histories))

    @abstractmethod
    def _fit_pool(self, histories: list[InstrumentData]) -> Self:
        """The model-specific fit (contexts are recorded already)."""

    @abstractmethod
    def exposure_for(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> np.ndarray:
        """``(T,)`` exposures of one instrument of the pool."""

    def target_exposure(self, bars: pd.DataFrame) -> np.ndarray:
        instrument = instrument_of(bars)
        if instrument not in self.contexts_:
            raise ValueError(
                f"baseline {self.name} was fitted on {sorted(self.contexts_)}, "
                f"not on instrument {instrument}"
            )
        return self.exposure_for(
            bars.reset_index(drop=True), self.contexts_[instrument]
        )

    def selected_params(self, instrument: str | None = None) -> dict[str, Any]:
        shared = self.shared_params()
        if instrument is None:
            return {**shared, "per_instrument": self.selected_}
        return {**shared, **self.selected_.get(instrument, {})}

    def selection_score(self, instrument: str | None = None) -> float:
        if instrument is None:
            finite = [s for s in self.scores_.values() if np.isfinite(s)]
            return float(np.mean(finite)) if finite else float("nan")
        return float(self.scores_.get(instrument, float("nan")))

    def shared_params(self) -> dict[str, Any]:
        """Choices shared by the pool (e.g. the selected epoch); none by default."""
        return {"pooling": self.pooling, "pool": sorted(self.contexts_)}


@contextlib.contextmanager
def limited_threads(n_threads: int | None) -> Iterator[None]:
    """Run a block with at most ``n_threads`` CPU threads for torch and for the
    native thread pools (OpenMP of scikit-learn's trees, BLAS); restored after.

    Small models gain nothing from threads and lose a lot when the cores are
    busy (scikit-learn's histogram boosting ran ~20x slower with 2 OpenMP
    threads on a loaded 2-core machine than with 1).
    """
    if not n_threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        with threadpool_limits(int(n_threads)):
            yield
    finally:
        torch.set_num_threads(previous)
