"""reporting: backtest_metrics, backtest_sharpe_tests, baseline_selection ->
backtest_results(.md); backtest_market_returns, backtest_positions -> figures."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.reporting import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.results,
                inputs="backtest_metrics",
                outputs="backtest_results",
                name="aggregate_seeds",
            ),
            Node(
                func=nodes.results_report,
                inputs=[
                    "backtest_results",
                    "backtest_sharpe_tests",
                    "baseline_selection",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs="backtest_results_md",
                name="results_markdown",
            ),
            Node(
                func=nodes.market_figures,
                inputs=["backtest_market_returns", "params:reporting"],
                outputs=["backtest_market_nav_drawdown", "backtest_market_plots"],
                name="market_nav_drawdown_plots",
            ),
            Node(
                func=nodes.instrument_figure,
                inputs=["backtest_positions", "params:reporting"],
                outputs="backtest_instrument_nav",
                name="instrument_nav_plot",
            ),
        ],
        tags=["reporting"],
    )
