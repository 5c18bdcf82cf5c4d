"""baselines: ohlcv, instruments, split (+ the router's frozen caches) ->
baseline_exposures -> baseline_positions -> baseline_market_returns ->
baseline_metrics, baseline_sharpe_tests -> baseline_results,
baseline_comparison_md. Evaluation through the backtest stage's nodes."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.backtest import nodes as backtest
from mm_drex.pipelines.baselines import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.fit_baselines,
                inputs=[
                    "ohlcv",
                    "instruments",
                    "split",
                    "router_decision_points",
                    "router_text_embeddings",
                    "router_chart_trunk",
                    "params:baselines",
                    "params:backtest",
                    "params:features",
                ],
                outputs=[
                    "baseline_exposures",
                    "baseline_selection",
                    "baseline_fit_log",
                ],
                name="fit_baselines",
            ),
            Node(
                func=backtest.positions,
                inputs=[
                    "baseline_exposures",
                    "ohlcv",
                    "instruments",
                    "split",
                    "params:backtest",
                ],
                outputs="baseline_positions",
                name="execute_baseline_exposures",
            ),
            Node(
                func=backtest.markets,
                inputs=["baseline_positions", "instruments", "params:backtest"],
                outputs="baseline_market_returns",
                name="baseline_market_portfolios",
            ),
            Node(
                func=backtest.metrics,
                inputs=[
                    "baseline_positions",
                    "baseline_market_returns",
                    "instruments",
                    "params:backtest",
                ],
                outputs="baseline_metrics",
                name="baseline_performance_metrics",
            ),
            Node(
                func=backtest.significance,
                inputs=[
                    "baseline_positions",
                    "baseline_market_returns",
                    "instruments",
                    "params:backtest",
                ],
                outputs="baseline_sharpe_tests",
                name="baseline_sharpe_difference_tests",
            ),
            Node(
                func=nodes.results,
                inputs="baseline_metrics",
                outputs="baseline_results",
                name="aggregate_baseline_seeds",
            ),
            Node(
                func=nodes.comparison,
                inputs=["baseline_results", "params:baselines"],
                outputs="baseline_comparison_md",
                name="baseline_comparison_table",
            ),
        ],
        tags=["baselines"],
    )
