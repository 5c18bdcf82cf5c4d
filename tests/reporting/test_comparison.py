"""The paper-style comparison lists every strategy present, MM-DREX first."""

from __future__ import annotations

import pandas as pd
import pytest

from mm_drex.backtest.metrics import METRIC_NAMES
from mm_drex.reporting import results_table
from mm_drex.reporting.comparison import (
    comparison_markdown,
    comparison_table,
    strategy_order,
)


def _metrics(strategy: str, seed: int, sharpe: float) -> list[dict]:
    rows = []
    for level, name in (
        ("market", "stocks"),
        ("market", "crypto"),
        ("average", "equal_market_average"),
    ):
        rows.append(
            {
                "strategy": strategy,
                "seed": seed,
                "level": level,
                "name": name,
                "market": name if level == "market" else "",
                "periods_per_year": 252.0,
                "n_returns": 500,
                "start": pd.Timestamp("2020-01-01"),
                "end": pd.Timestamp("2021-12-31"),
                **{m: 0.1 for m in METRIC_NAMES},
                "sharpe": sharpe + (0.5 if name == "crypto" else 0.0),
                "sharpe_ci_low": 0.0,
                "sharpe_ci_high": 1.0,
            }
        )
    return rows


@pytest.fixture
def results() -> pd.DataFrame:
    rows = []
    rows += _metrics("ts_momentum", 42, 0.8)
    rows += _metrics("buy_hold", 42, 0.6)
    rows += _metrics("uniform_weights", 42, 0.9)
    rows += _metrics("mm_drex", 42, 1.2)
    rows += _metrics("mm_drex", 43, 1.4)
    return results_table(pd.DataFrame(rows))


def test_mm_drex_comes_first_then_other_strategies_then_baselines_in_order():
    order = strategy_order(
        ["ts_momentum", "buy_hold", "uniform_weights", "mm_drex", "no_chart"],
        baselines=["buy_hold", "sma_crossover", "ts_momentum"],
    )
    assert order == [
        "mm_drex",
        "no_chart",
        "uniform_weights",
        "buy_hold",
        "ts_momentum",
    ]


def test_the_table_has_every_market_and_the_average_for_every_strategy(results):
    table = comparison_table(results, baselines=["buy_hold", "ts_momentum"])
    assert list(table.index) == [
        "mm_drex",
        "uniform_weights",
        "buy_hold",
        "ts_momentum",
    ]
    groups = list(dict.fromkeys(g for g in table.columns.get_level_values(0) if g))
    assert groups == ["stocks", "crypto", "equal_market_average"]
    assert table.loc["mm_drex", ("crypto", "sharpe_mean")] == pytest.approx(1.8)
    assert table.loc["mm_drex", ("", "n_seeds")] == 2
    markdown = comparison_markdown(table, ["sharpe"])
    lines = markdown.splitlines()
    assert lines[0] == (
        "| strategy | seeds | stocks Sharpe | crypto Sharpe | equal_market_average Sharpe |"
    )
    assert "| mm_drex | 2 | 1.30 ± 0.14 | 1.80 ± 0.14 | 1.30 ± 0.14 |" in lines
    assert "| buy_hold | 1 | 0.60 | 1.10 | 0.60 |" in lines  # one seed: no sd


def test_a_table_without_market_rows_is_refused(results):
    with pytest.raises(ValueError, match="no market or average rows"):
        comparison_table(results[results["level"] == "instrument"])
