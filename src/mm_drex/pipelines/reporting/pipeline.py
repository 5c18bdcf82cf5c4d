"""reporting: every evaluated strategy (backtest stage + MM-DREX and ablations
from expert_rl) -> main table, significance, cost sensitivity, results by
regime, per-expert attribution, figures -> one report.md gathering them with
the other stages' reports."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.reporting import nodes

ALL = [
    "report_metrics",
    "report_market_returns",
    "report_positions",
    "report_exposures",
]


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
                func=nodes.comparison,
                inputs=["backtest_results", "params:reporting"],
                outputs="backtest_comparison_md",
                name="comparison_markdown",
            ),
            Node(
                func=nodes.market_figures,
                inputs=["report_market_returns", "params:reporting"],
                outputs=["backtest_market_nav_drawdown", "backtest_market_plots"],
                name="market_nav_drawdown_plots",
            ),
            Node(
                func=nodes.instrument_figure,
                inputs=["report_positions", "params:reporting"],
                outputs="backtest_instrument_nav",
                name="instrument_nav_plot",
            ),
            Node(
                func=nodes.combine_strategies,
                inputs=[
                    "backtest_metrics",
                    "mmdrex_metrics",
                    "backtest_market_returns",
                    "mmdrex_market_returns",
                    "backtest_positions",
                    "mmdrex_positions",
                    "baseline_exposures",
                    "mmdrex_exposures",
                ],
                outputs=ALL,
                name="combine_strategies",
            ),
            Node(
                func=nodes.main_table,
                inputs=["report_metrics", "params:reporting"],
                outputs=["report_main_table", "report_main_table_md"],
                name="main_table",
            ),
            Node(
                func=nodes.headline_metrics,
                inputs="report_main_table",
                outputs="report_headline_metrics",
                name="headline_metrics",
            ),
            Node(
                func=nodes.significance,
                inputs=[
                    "report_market_returns",
                    "report_metrics",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs=[
                    "report_sharpe_differences",
                    "report_spa",
                    "report_significance_md",
                ],
                name="significance_tests",
            ),
            Node(
                func=nodes.costs,
                inputs=[
                    "report_exposures",
                    "ohlcv",
                    "instruments",
                    "split",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs=["report_cost_sensitivity", "report_cost_sensitivity_md"],
                name="cost_sensitivity",
            ),
            Node(
                func=nodes.by_regime,
                inputs=[
                    "report_positions",
                    "regimes",
                    "instruments",
                    "params:backtest",
                ],
                outputs=["report_by_regime", "report_by_regime_md"],
                name="results_by_regime",
            ),
            Node(
                func=nodes.attribution,
                inputs=["mmdrex_decision_log", "params:reporting"],
                outputs=[
                    "report_attribution",
                    "report_attribution_md",
                    "report_attribution_plot",
                ],
                name="expert_attribution",
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
                    "report_market_returns",
                    "report_metrics",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs="report_tearsheets",
                name="quantstats_tearsheets",
            ),
            Node(
                func=nodes.audit,
                inputs=["mmdrex_decision_log", "chart_index", "ohlcv"],
                outputs="audit_trail",
                name="audit_trail",
            ),
            Node(
                func=nodes.run_report,
                inputs=[
                    "report_main_table_md",
                    "report_significance_md",
                    "report_cost_sensitivity_md",
                    "report_by_regime_md",
                    "report_attribution_md",
                    "backtest_results_md",
                    "data_quality",
                    "label_report",
                    "expert_report",
                    "router_evaluation_report",
                    "mmdrex_report",
                    "sample_charts",
                    "params:reporting",
                ],
                outputs="run_report",
                name="run_report",
            ),
        ],
        tags=["reporting"],
    )
