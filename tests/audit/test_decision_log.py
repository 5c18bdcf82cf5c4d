"""The decision log: one row per test decision with its execution."""

from __future__ import annotations

import numpy as np

from mm_drex.audit.decision_log import DECISION_LOG_COLUMNS, decision_log
from mm_drex.backtest import run_backtest
from mm_drex.experts.templates import EXPERTS
from mm_drex.strategy.mmdrex import (
    exposure_table,
    routing_table,
)
from tests.market_panel import LIMITS


def test_decision_log_has_one_row_per_test_decision_with_the_execution(
    rl_inputs, rl_panel, paths
):
    strategy_list, _ = paths
    exposures = exposure_table(rl_panel, strategy_list)
    routing = routing_table(rl_panel, strategy_list)
    positions = run_backtest(
        exposures,
        rl_inputs.ohlcv,
        rl_inputs.instruments,
        rl_inputs.split,
        "test",
        LIMITS,
    )
    log = decision_log(rl_panel, routing, positions, "mm_drex", 42)
    test_rows = rl_panel[rl_panel["segment"] == "test"]
    assert list(log.columns) == DECISION_LOG_COLUMNS
    assert len(log) == len(test_rows)
    assert not log.duplicated(["instrument", "t"]).any()
    assert set(zip(log["instrument"], log["timestamp"], strict=True)) == set(
        zip(test_rows["instrument"], test_rows["timestamp"], strict=True)
    )
    executed = log["execution_timestamp"].notna()
    assert (~executed).sum() == 2  # the last test bar of each instrument
    known = log[executed]
    np.testing.assert_allclose(known["executed_exposure"], known["projected_exposure"])
    np.testing.assert_allclose(known["order"].abs(), known["turnover"], atol=1e-12)
    np.testing.assert_allclose(
        known["projected_exposure"],
        known["mixed_exposure"]
        + known["delta_bounds"]
        + known["delta_leverage"]
        + known["delta_turnover"],
        atol=1e-12,
    )
    np.testing.assert_allclose(log[[f"w_{e}" for e in EXPERTS]].sum(axis=1), 1.0)
    assert log["chart_sha256"].str.len().eq(64).all()
    # the net return of the decision at t is the engine's return of bar t+1
    sleeve = positions[(positions["strategy"] == "mm_drex") & (positions["seed"] == 42)]
    by_bar = sleeve.set_index(["instrument", "timestamp"])["net_return"]
    looked_up = by_bar.reindex(
        list(zip(known["instrument"], known["execution_timestamp"], strict=True))
    ).to_numpy()
    np.testing.assert_array_equal(known["net_return"].to_numpy(), looked_up)
