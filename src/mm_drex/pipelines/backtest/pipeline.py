"""backtest: ohlcv, instruments, split -> baseline_exposures -> backtest_positions
-> backtest_market_returns -> backtest_metrics, backtest_sharpe_tests."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.backtest import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.baseline_exposures,
                inputs=["ohlcv", "instruments", "split", "params:backtest"],
                outputs=["baseline_exposures", "baseline_selection"],
                name="fit_baselines",
            ),
            Node(
                func=nodes.positions,
                inputs=[
                    "baseline_exposures",
                    "ohlcv",
                    "instruments",
                    "split",
                    "params:backtest",
                ],
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
                inputs=[
                    "backtest_positions",
                    "backtest_market_returns",
                    "instruments",
                    "params:backtest",
                ],
                outputs="backtest_metrics",
                name="performance_metrics",
            ),
            Node(
                func=nodes.significance,
                inputs=[
                    "backtest_positions",
                    "backtest_market_returns",
                    "instruments",
                    "params:backtest",
                ],
                outputs="backtest_sharpe_tests",
                name="sharpe_difference_tests",
            ),
        ],
        tags=["backtest"],
    )
