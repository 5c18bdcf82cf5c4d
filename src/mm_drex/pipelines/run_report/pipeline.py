"""run_report: every stage's markdown report and the result tables ->
report.md (with the figures linked); the main table -> the headline metrics
of the tracking store."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.run_report import nodes

NODES = [
    Node(
        func=nodes.run_report,
        inputs=[
            "report_main_table_md",
            "report_significance_md",
            "report_deflated_sharpe_md",
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
    Node(
        func=nodes.headline_metrics,
        inputs="report_main_table",
        outputs="report_headline_metrics",
        name="headline_metrics",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["run_report"])
