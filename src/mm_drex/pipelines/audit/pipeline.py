"""audit: rl_panel + mmdrex_routing + backtest_positions -> mmdrex_decision_log
(one row per decision of MM-DREX) -> audit_trail (+ chart index and prices)
and the per-expert attribution of its return and drawdown."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.audit import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.mmdrex_decision_log,
                inputs=[
                    "rl_panel",
                    "mmdrex_routing",
                    "backtest_positions",
                    "params:expert_rl",
                ],
                outputs="mmdrex_decision_log",
                name="mmdrex_decision_log",
            ),
            Node(
                func=nodes.trail,
                inputs=["mmdrex_decision_log", "chart_index", "ohlcv"],
                outputs="audit_trail",
                name="audit_trail",
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
        ],
        tags=["audit"],
    )
