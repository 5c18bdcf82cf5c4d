"""Cross-fitted expert exposures on the train window.

Every learner downstream of the pools (the static weights, the router's soft
targets and weight head, the RL policies) learns from the experts' train
returns. With pools searched on the whole train window those returns are
in-sample: the SFT mix scored 1.20 on train and 0.63 on test, and RL trained
on that optimism. Cross-fitting removes it:

- each instrument's train segment is cut into ``n_blocks`` contiguous blocks
  of equal length (:func:`train_blocks`);
- for each block ``k`` the pools are searched again on the train decisions
  outside block ``k`` and further than ``purge`` bars from it (the forward
  label of a decision ``purge`` bars before the block reads bars inside it),
  and audited on validation as usual;
- the exposures of the train bars of block ``k`` come from block ``k``'s
  pools (:func:`cross_fitted_exposure_table`); the validation and test bars
  keep the pools searched on the whole train window.

So a train return a learner sees was earned by pools that never scored it.
The bars outside train (warm-up, purges, val, test) are unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.experts.history import InstrumentHistory
from mm_drex.experts.pools import expert_exposure_table
from mm_drex.experts.search import SearchConfig, build_expert_pools
from mm_drex.experts.templates import EXPERTS

FULL_FIT = "full"


def train_blocks(segment: np.ndarray, n_blocks: int) -> np.ndarray:
    """Block index per bar: the train bars cut into ``n_blocks`` contiguous
    blocks of (nearly) equal length, in time order; -1 outside train."""
    if n_blocks < 1:
        raise ValueError(f"experts.cross_fit.blocks must be >= 1, got {n_blocks}")
    blocks = np.full(len(segment), -1, dtype=np.int64)
    train = np.flatnonzero(np.asarray(segment) == "train")
    if len(train):
        blocks[train] = np.arange(len(train)) * n_blocks // len(train)
    return blocks


def with_blocks(
    histories: Sequence[InstrumentHistory], n_blocks: int
) -> list[InstrumentHistory]:
    """The histories with their train blocks set (the audit's stability check
    scores each block; ``n_blocks = 1`` scores the train window whole)."""
    return [
        dataclasses.replace(h, blocks=train_blocks(h.segment, n_blocks))
        for h in histories
    ]


def held_out_bars(blocks: np.ndarray, block: int, purge: int) -> np.ndarray:
    """Bars a search fitted without ``block`` may not score: the block and
    ``purge`` bars on either side of it."""
    inside = np.flatnonzero(blocks == block)
    mask = np.zeros(len(blocks), dtype=bool)
    if len(inside):
        first = max(int(inside[0]) - purge, 0)
        mask[first : int(inside[-1]) + purge + 1] = True
    return mask


def cross_fitted_pools(
    histories: Sequence[InstrumentHistory],
    config: SearchConfig,
    n_blocks: int,
    purge: Mapping[str, int],
    experts: Sequence[str] = EXPERTS,
    catalog: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One pool catalog per held-out train block.

    Args:
        histories: the instruments, with :func:`with_blocks` applied.
        config: the search configuration of these searches (usually the
            main search's with fewer trials).
        n_blocks: train blocks; ``1`` turns cross-fitting off (no catalog).
        purge: bars left out on either side of the held-out block, per
            instrument (the label horizon).
        catalog: the full catalog: every block's pools keep its scopes, so
            that they serve the markets the same way.

    Returns ``{"n_blocks", "purge", "catalogs"}``; ``catalogs[k]`` is the
    :func:`~mm_drex.experts.search.build_expert_pools` catalog searched
    without block ``k``.
    """
    catalogs = []
    scopes = None if catalog is None else catalog["scopes"]
    if n_blocks > 1:
        for block in range(n_blocks):
            fitted = []
            for h in histories:
                if h.blocks is None:
                    raise ValueError(
                        f"instrument '{h.instrument}': cross-fitting needs the train "
                        "blocks (experts.cross_fit.with_blocks)"
                    )
                gap = int(purge.get(h.instrument, 0))
                fitted.append(
                    dataclasses.replace(h, held_out=held_out_bars(h.blocks, block, gap))
                )
            catalog = build_expert_pools(fitted, config, experts=experts, scopes=scopes)
            catalog["held_out_block"] = block
            catalogs.append(catalog)
    return {
        "n_blocks": int(n_blocks),
        "purge": {k: int(v) for k, v in purge.items()},
        "catalogs": catalogs,
    }


def cross_fitted_exposure_table(
    histories: Sequence[InstrumentHistory],
    catalog: Mapping[str, Any],
    cross_fit: Mapping[str, Any],
    temperature: float,
    experts: Sequence[str] = EXPERTS,
) -> pd.DataFrame:
    """:func:`~mm_drex.experts.pools.expert_exposure_table` of the full
    catalog with the train bars of block ``k`` taken from the catalog fitted
    without block ``k``; the column ``fit`` says which (``full`` or
    ``block_<k>``) and the driving member of a block's bar is named
    ``block_<k>:<member_id>``."""
    table = expert_exposure_table(histories, catalog, temperature, experts)
    table.insert(table.columns.get_loc("exposure"), "fit", FULL_FIT)
    catalogs = cross_fit.get("catalogs", [])
    if not catalogs:
        return table
    n_blocks = int(cross_fit["n_blocks"])
    block = pd.concat(
        [
            pd.DataFrame(
                {
                    "instrument": h.instrument,
                    "t": np.arange(len(h.segment), dtype=np.int64),
                    "block": train_blocks(h.segment, n_blocks),
                }
            )
            for h in histories
        ],
        ignore_index=True,
    )
    row_block = (
        table[["instrument", "t"]]
        .merge(block, on=["instrument", "t"], how="left")["block"]
        .to_numpy()
    )
    keys = ["instrument", "timestamp", "t", "segment", "expert"]
    replaced = [c for c in table.columns if c not in keys]
    for fitted in catalogs:
        k = int(fitted["held_out_block"])
        rows = row_block == k
        if not rows.any():
            continue
        other = expert_exposure_table(histories, fitted, temperature, experts)
        if not other[keys].equals(table[keys]):
            raise ValueError(
                f"cross-fitted exposures of block {k}: rows differ from the full table"
            )
        other.insert(other.columns.get_loc("exposure"), "fit", f"block_{k}")
        # member ids name a member within its catalog
        other["driving_member"] = f"block_{k}:" + other["driving_member"].astype(str)
        for column in replaced:
            table.loc[rows, column] = other.loc[rows, column].to_numpy()
    return table
