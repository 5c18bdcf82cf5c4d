"""figures: backtest_market_returns, backtest_positions, mmdrex_decision_log
-> NAV and drawdown plots, routing weights over time, quantstats tearsheets."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.figures import nodes

NODES = [
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
    Node(
        func=nodes.routing_figure,
        inputs=["mmdrex_decision_log", "regimes", "params:reporting"],
        outputs="report_routing_weights_plot",
        name="routing_weights_plot",
    ),
    Node(
        func=nodes.tearsheets,
        inputs=[
            "backtest_market_returns",
            "backtest_metrics",
            "params:backtest",
            "params:reporting",
        ],
        outputs="report_tearsheets",
        name="quantstats_tearsheets",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["figures"])
