"""backtest: every strategy's exposures (baselines, MM-DREX and its
ablations) -> strategy_exposures -> backtest_positions ->
backtest_market_returns -> backtest_metrics, backtest_sharpe_tests."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.backtest import nodes

# The exposure tables executed together: one per producing stage.
EXPOSURE_TABLES = ["baseline_exposures", "mmdrex_exposures"]
MARKET_DATA = ["ohlcv", "instruments", "split"]
EVALUATED = ["backtest_positions", "backtest_market_returns", "instruments"]


NODES = [
    Node(
        func=nodes.exposures,
        inputs=EXPOSURE_TABLES,
        outputs="strategy_exposures",
        name="collect_strategy_exposures",
    ),
    Node(
        func=nodes.positions,
        inputs=["strategy_exposures", *MARKET_DATA, "params:backtest"],
        outputs="backtest_positions",
        name="execute_exposures",
    ),
    Node(
        func=nodes.markets,
        inputs=["backtest_positions", "instruments", "params:backtest"],
        outputs="backtest_market_returns",
        name="market_portfolios",
    ),
    Node(
        func=nodes.metrics,
        inputs=[*EVALUATED, "params:backtest"],
        outputs="backtest_metrics",
        name="performance_metrics",
    ),
    Node(
        func=nodes.significance,
        inputs=[*EVALUATED, "params:backtest"],
        outputs="backtest_sharpe_tests",
        name="sharpe_difference_tests",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["backtest"])
