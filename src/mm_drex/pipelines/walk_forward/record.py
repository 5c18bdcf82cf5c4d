"""The walk-forward pipeline's last part: the folds' test windows chained and
every result table on them; the explain stage on the walk-forward decisions."""

from __future__ import annotations

from functools import partial

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.backtest import nodes as backtest_nodes
from mm_drex.pipelines.explain import pipeline as explain
from mm_drex.pipelines.reporting import nodes as reporting_nodes
from mm_drex.pipelines.walk_forward import nodes

# every fold's table of these, stacked with a `fold` column (walk_forward_<name>)
STACKED = ("baseline_selection", "rl_training_log", "audit_trail", "router_evaluation")


def oos_pipeline(folds: list[str]) -> Pipeline:
    """The folds' test windows chained, and every result table on them."""

    def of(name: str) -> list[str]:
        return [f"{fold}.{name}" for fold in folds]

    pairs = [
        f"{fold}.{name}" for fold in folds for name in ("strategy_exposures", "split")
    ]
    diagnostics = [
        f"{fold}.{name}"
        for fold in folds
        for name in (
            "routing_diagnostic_returns",
            "routing_oracle_weights",
            "routing_by_predicted_regime",
        )
    ]
    evaluated = ["walk_forward_positions", "walk_forward_market_returns", "instruments"]
    return Pipeline(
        [
            Node(
                func=partial(nodes.oos_positions, folds=folds),
                inputs=of("backtest_positions"),
                outputs="walk_forward_positions",
                name="chain_fold_test_windows",
            ),
            Node(
                func=backtest_nodes.markets,
                inputs=["walk_forward_positions", "instruments", "params:backtest"],
                outputs="walk_forward_market_returns",
                name="walk_forward_market_portfolios",
            ),
            Node(
                func=backtest_nodes.metrics,
                inputs=[*evaluated, "params:backtest"],
                outputs="walk_forward_metrics",
                name="walk_forward_metrics",
            ),
            *(
                Node(
                    func=partial(nodes.stacked, folds=folds),
                    inputs=of(name),
                    outputs=f"walk_forward_{name}",
                    name=f"stack_{name}",
                )
                for name in STACKED
            ),
            Node(
                func=partial(nodes.stack_test_regimes, folds=folds),
                inputs=of("regimes"),
                outputs="walk_forward_regimes",
                name="stack_test_regimes",
            ),
            Node(
                func=reporting_nodes.main_table,
                inputs="walk_forward_metrics",
                outputs=["walk_forward_main_table", "walk_forward_main_table_md"],
                name="walk_forward_main_table",
            ),
            Node(
                func=reporting_nodes.significance,
                inputs=[
                    "walk_forward_market_returns",
                    "walk_forward_metrics",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs=[
                    "walk_forward_sharpe_differences",
                    "walk_forward_spa",
                    "walk_forward_significance_md",
                ],
                name="walk_forward_significance",
            ),
            Node(
                func=reporting_nodes.deflated_sharpe,
                inputs=[
                    "walk_forward_market_returns",
                    "walk_forward_metrics",
                    "walk_forward_baseline_selection",
                    "walk_forward_rl_training_log",
                    "instruments",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs=[
                    "walk_forward_deflated_sharpe",
                    "walk_forward_deflated_sharpe_md",
                ],
                name="walk_forward_deflated_sharpe",
            ),
            Node(
                func=partial(nodes.oos_costs, folds=folds),
                inputs=[
                    "ohlcv",
                    "instruments",
                    "params:backtest",
                    "params:reporting",
                    *pairs,
                ],
                outputs=[
                    "walk_forward_cost_sensitivity",
                    "walk_forward_cost_sensitivity_md",
                ],
                name="walk_forward_cost_sensitivity",
            ),
            Node(
                func=partial(nodes.per_fold_table, folds=folds),
                inputs=["walk_forward_metrics", *of("backtest_metrics")],
                outputs="walk_forward_fold_table",
                name="per_fold_table",
            ),
            Node(
                func=partial(nodes.per_fold_markdown, folds=folds),
                inputs=["walk_forward_fold_table", "folds", "params:reporting"],
                outputs="walk_forward_fold_table_md",
                name="per_fold_markdown",
            ),
            Node(
                func=partial(nodes.oos_routing_diagnostics, folds=folds),
                inputs=["instruments", *diagnostics],
                outputs=[
                    "walk_forward_routing_diagnostics",
                    "walk_forward_routing_by_predicted_regime",
                    "walk_forward_routing_oracle_weights",
                    "walk_forward_routing_diagnostics_md",
                ],
                name="walk_forward_routing_diagnostics",
            ),
            Node(
                func=nodes.oos_routing_comparisons,
                inputs=[
                    "walk_forward_market_returns",
                    "walk_forward_metrics",
                    "params:backtest",
                    "params:reporting",
                ],
                outputs=[
                    "walk_forward_routing_comparisons",
                    "walk_forward_routing_comparisons_md",
                ],
                name="walk_forward_routing_comparisons",
            ),
            Node(
                func=nodes.oos_perception,
                inputs="walk_forward_router_evaluation",
                outputs="walk_forward_perception_md",
                name="walk_forward_perception",
            ),
            Node(
                func=partial(nodes.walk_forward_report, folds=folds),
                inputs=[
                    "walk_forward_fold_table_md",
                    "walk_forward_main_table_md",
                    "walk_forward_routing_comparisons_md",
                    "walk_forward_routing_diagnostics_md",
                    "walk_forward_perception_md",
                    "walk_forward_significance_md",
                    "walk_forward_deflated_sharpe_md",
                    "walk_forward_cost_sensitivity_md",
                    "params:reporting",
                ],
                outputs="walk_forward_report",
                name="walk_forward_report",
            ),
        ],
        tags=["walk_forward", "walk_forward_report"],
    )


def explain_pipeline() -> Pipeline:
    """The explain stage on the walk-forward decisions (any instrument and
    date of a fold's test window)."""
    return Pipeline(
        explain.create_pipeline(),
        inputs={
            "audit_trail": "walk_forward_audit_trail",
            "regimes": "walk_forward_regimes",
            "chart_index": "chart_index",
            "chart_shards": "chart_shards",
        },
        outputs={
            "explanation": "walk_forward_explanation",
            "explanation_chart": "walk_forward_explanation_chart",
        },
        namespace="walk_forward_explain",
        prefix_datasets_with_namespace=False,
    )
