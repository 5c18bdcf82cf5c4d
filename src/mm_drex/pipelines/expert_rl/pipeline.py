"""expert_rl: router outputs + expert exposures -> rl_panel -> PPO per seed
(penalties and checkpoints chosen on val) -> MM-DREX and ablation exposures ->
backtest engine on the evaluated segment -> metrics, decision log, report."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.expert_rl import nodes

POLICY = ["rl_policy", "rl_policy_config"]
PARAMS = ["params:expert_rl", "params:backtest"]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.no_chart_router_weights,
                inputs=[
                    "router_ablation_predictions",
                    "router_decision_points",
                    "router_texts",
                    "router_temporal",
                    "router_text_embeddings",
                    "params:features.indicators",
                    "params:router_sft",
                    "params:expert_rl",
                ],
                outputs="rl_no_chart_weights",
                name="no_chart_router_weights",
            ),
            Node(
                func=nodes.build_rl_panel,
                inputs=[
                    "router_weights",
                    "router_states",
                    "rl_no_chart_weights",
                    "expert_exposures",
                    "ohlcv",
                    "instruments",
                    "split",
                    "chart_index",
                    "regimes",
                    "expert_pools",
                    "params:experts",
                    "params:backtest",
                ],
                outputs="rl_panel",
                name="build_rl_panel",
            ),
            Node(
                func=nodes.train_rl_policies,
                inputs=["rl_panel", "instruments", *PARAMS],
                outputs=[*POLICY, "rl_training_log", "rl_selection"],
                name="train_rl_policies",
            ),
            Node(
                func=nodes.compare_policies,
                inputs=["rl_panel", "instruments", *POLICY, *PARAMS],
                outputs="rl_policy_comparison",
                name="compare_trained_random_sft_policies",
            ),
            Node(
                func=nodes.strategy_exposures,
                inputs=["rl_panel", "instruments", *POLICY, *PARAMS],
                outputs=[
                    "mmdrex_exposures",
                    "mmdrex_routing",
                    "mmdrex_ablation_choices",
                ],
                name="mmdrex_and_ablation_exposures",
            ),
            Node(
                func=nodes.mmdrex_positions,
                inputs=[
                    "mmdrex_exposures",
                    "ohlcv",
                    "instruments",
                    "split",
                    "params:backtest",
                ],
                outputs="mmdrex_positions",
                name="execute_mmdrex_exposures",
            ),
            Node(
                func=nodes.mmdrex_markets,
                inputs=["mmdrex_positions", "instruments", "params:backtest"],
                outputs="mmdrex_market_returns",
                name="mmdrex_market_portfolios",
            ),
            Node(
                func=nodes.mmdrex_metrics,
                inputs=[
                    "mmdrex_positions",
                    "mmdrex_market_returns",
                    "instruments",
                    "params:backtest",
                ],
                outputs="mmdrex_metrics",
                name="mmdrex_performance_metrics",
            ),
            Node(
                func=nodes.mmdrex_decision_log,
                inputs=[
                    "rl_panel",
                    "mmdrex_routing",
                    "mmdrex_positions",
                    "params:expert_rl",
                ],
                outputs="mmdrex_decision_log",
                name="mmdrex_decision_log",
            ),
            Node(
                func=nodes.mmdrex_report,
                inputs=[
                    "mmdrex_metrics",
                    "mmdrex_positions",
                    "regimes",
                    "instruments",
                    "rl_policy_comparison",
                    "rl_selection",
                    "mmdrex_ablation_choices",
                    "rl_policy_config",
                    *PARAMS,
                ],
                outputs=["mmdrex_comparison", "mmdrex_report"],
                name="mmdrex_report",
            ),
        ],
        tags=["expert_rl"],
    )
