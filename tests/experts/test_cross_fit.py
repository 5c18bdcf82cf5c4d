"""Cross-fitted train exposures: a block's train bars come from pools that
never scored them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mm_drex.experts.cross_fit import (
    cross_fitted_exposure_table,
    cross_fitted_pools,
    held_out_bars,
    train_blocks,
    with_blocks,
)
from mm_drex.experts.pools import expert_exposure_table
from mm_drex.experts.search import build_expert_pools
from tests.experts.conftest import CONFIG, histories_of

EXPERTS = ("trend",)
PURGE = 20


def test_train_blocks_cut_the_train_segment_into_contiguous_equal_blocks():
    segment = np.array(["purge"] * 3 + ["train"] * 10 + ["purge"] * 2 + ["val"] * 4)
    blocks = train_blocks(segment, 3)
    assert blocks[:3].tolist() == [-1, -1, -1]
    assert blocks[3:13].tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert (blocks[13:] == -1).all()
    assert (train_blocks(segment, 1)[3:13] == 0).all()
    with pytest.raises(ValueError, match="experts.cross_fit.blocks"):
        train_blocks(segment, 0)


def test_held_out_bars_are_the_block_and_the_purge_on_either_side():
    blocks = np.array([-1, 0, 0, 0, 1, 1, 1, 1, -1, -1])
    assert np.flatnonzero(held_out_bars(blocks, 1, 2)).tolist() == [
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
    ]
    assert np.flatnonzero(held_out_bars(blocks, 0, 0)).tolist() == [1, 2, 3]


@pytest.fixture(scope="module")
def histories(market_data):
    return with_blocks(histories_of(market_data), 2)


@pytest.fixture(scope="module")
def cross_fit(histories):
    full = build_expert_pools(histories, CONFIG, experts=EXPERTS)
    purge = {h.instrument: PURGE for h in histories}
    folds = cross_fitted_pools(
        histories, CONFIG, 2, purge, experts=EXPERTS, catalog=full
    )
    return full, folds


def _members(catalog) -> list:
    return [
        [(m["template"], m["params"], m["train_objective"]) for m in p["members"]]
        for p in catalog["pools"]
    ]


def _relabel(histories, block: int) -> list:
    """The histories with every train label inside ``block`` rotated."""
    out = []
    for h in histories:
        code = h.regime_code.copy()
        inside = (h.blocks == block) & (code >= 0)
        code[inside] = (code[inside] + 1) % len(h.regimes)
        out.append(dataclasses.replace(h, regime_code=code, _views={}))
    return out


def test_a_blocks_pools_never_score_its_bars(histories, cross_fit):
    full, folds = cross_fit
    purge = {h.instrument: PURGE for h in histories}
    assert [c["held_out_block"] for c in folds["catalogs"]] == [0, 1]
    assert folds["catalogs"][0]["scopes"] == full["scopes"]
    # what a held-out block's labels say cannot change the pools fitted
    # without it, and does change the others (the check can fail)
    moved = cross_fitted_pools(
        _relabel(histories, 0), CONFIG, 2, purge, experts=EXPERTS, catalog=full
    )
    assert _members(moved["catalogs"][0]) == _members(folds["catalogs"][0])
    assert _members(moved["catalogs"][1]) != _members(folds["catalogs"][1])
    # fewer train decisions than the full search
    for catalog in folds["catalogs"]:
        for pool, whole in zip(catalog["pools"], full["pools"], strict=True):
            assert pool["n_train_decisions"] < whole["n_train_decisions"]


def test_train_bars_take_their_blocks_pools_and_the_rest_the_full_pools(
    histories, cross_fit
):
    full, folds = cross_fit
    table = cross_fitted_exposure_table(histories, full, folds, 0.2, EXPERTS)
    plain = expert_exposure_table(histories, full, 0.2, EXPERTS)
    blocks = pd.concat(
        [pd.Series(h.blocks) for h in histories], ignore_index=True
    ).to_numpy()
    assert len(table) == len(plain)
    expected_fit = np.where(blocks >= 0, "block_" + blocks.astype(str), "full")
    assert table["fit"].tolist() == expected_fit.tolist()
    outside = blocks < 0
    for column in ("exposure", "exposure_uptrend", "driving_member"):
        assert (
            table.loc[outside, column].tolist() == plain.loc[outside, column].tolist()
        )
    for k, catalog in enumerate(folds["catalogs"]):
        own = expert_exposure_table(histories, catalog, 0.2, EXPERTS)
        rows = blocks == k
        np.testing.assert_array_equal(
            table.loc[rows, "exposure"].to_numpy(), own.loc[rows, "exposure"].to_numpy()
        )
        assert table.loc[rows, "driving_member"].str.startswith(f"block_{k}:").all()
    # the block's own pools differ from the full ones somewhere on train
    train = blocks >= 0
    assert not np.array_equal(
        table.loc[train, "exposure"].to_numpy(), plain.loc[train, "exposure"].to_numpy()
    )


def test_one_block_turns_cross_fitting_off(histories, cross_fit):
    full, _ = cross_fit
    off = cross_fitted_pools(histories, CONFIG, 1, {}, experts=EXPERTS)
    assert off["catalogs"] == []
    table = cross_fitted_exposure_table(histories, full, off, 0.2, EXPERTS)
    assert (table["fit"] == "full").all()
    plain = expert_exposure_table(histories, full, 0.2, EXPERTS)
    assert table.drop(columns="fit").equals(plain)
