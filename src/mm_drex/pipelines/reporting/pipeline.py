"""reporting: the backtest's outputs (every strategy) -> seed-aggregated
results, the paper-style main table, significance (bootstrap, SPA), the
deflated Sharpe ratio, cost sensitivity, results by regime."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.reporting import nodes

MARKET_DATA = ["ohlcv", "instruments", "split"]
PARAMS = ["params:backtest", "params:reporting"]


NODES = [
    Node(
        func=nodes.results,
        inputs="backtest_metrics",
        outputs="backtest_results",
        name="aggregate_seeds",
    ),
    Node(
        func=nodes.results_markdown,
        inputs=[
            "backtest_results",
            "backtest_sharpe_tests",
            "baseline_selection",
            *PARAMS,
        ],
        outputs="backtest_results_md",
        name="results_markdown",
    ),
    Node(
        func=nodes.comparison,
        inputs=["backtest_results", "params:reporting"],
        outputs="backtest_comparison_md",
        name="comparison_markdown",
    ),
    Node(
        func=nodes.main_table,
        inputs="backtest_metrics",
        outputs=["report_main_table", "report_main_table_md"],
        name="main_table",
    ),
    Node(
        func=nodes.significance,
        inputs=["backtest_market_returns", "backtest_metrics", *PARAMS],
        outputs=["report_sharpe_differences", "report_spa", "report_significance_md"],
        name="significance_tests",
    ),
    Node(
        func=nodes.deflated_sharpe,
        inputs=[
            "backtest_market_returns",
            "backtest_metrics",
            "baseline_selection",
            "rl_training_log",
            "instruments",
            *PARAMS,
        ],
        outputs=["report_deflated_sharpe", "report_deflated_sharpe_md"],
        name="deflated_sharpe",
    ),
    Node(
        func=nodes.costs,
        inputs=["strategy_exposures", *MARKET_DATA, *PARAMS],
        outputs=["report_cost_sensitivity", "report_cost_sensitivity_md"],
        name="cost_sensitivity",
    ),
    Node(
        func=nodes.by_regime,
        inputs=["backtest_positions", "regimes", "instruments", "params:backtest"],
        outputs=["report_by_regime", "report_by_regime_md"],
        name="results_by_regime",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["reporting"])
