"""audit: MM-DREX from the backtest's outputs: rl_panel + mmdrex_routing +
backtest_positions -> mmdrex_decision_log (one row per decision) ->
audit_trail (+ chart index and prices), the per-expert attribution of its
return and drawdown, and its report against its ablations and buy & hold."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.audit import nodes

NODES = [
    Node(
        func=nodes.mmdrex_decision_log,
        inputs=["rl_panel", "mmdrex_routing", "backtest_positions", "params:expert_rl"],
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
    Node(
        func=nodes.mmdrex_comparison,
        inputs=[
            "backtest_metrics",
            "backtest_positions",
            "regimes",
            "instruments",
            "rl_policy_comparison",
            "rl_selection",
            "mmdrex_ablation_choices",
            "rl_policy_config",
            "params:expert_rl",
            "params:backtest",
        ],
        outputs=["mmdrex_comparison", "mmdrex_report"],
        name="mmdrex_report",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["audit"])
