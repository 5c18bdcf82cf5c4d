"""expert_rl: router outputs (+ the no-chart router's weights) + expert
exposures -> rl_panel -> PPO per seed (penalties and checkpoints chosen on
val) -> MM-DREX and ablation exposures, which the backtest stage executes."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.expert_rl import nodes

POLICY = ["rl_policy", "rl_policy_config"]
PARAMS = ["params:expert_rl", "params:backtest"]


NODES = [
    Node(
        func=nodes.build_rl_panel,
        inputs=[
            "router_weights",
            "router_states",
            "router_ablation_predictions",
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
        outputs=["mmdrex_exposures", "mmdrex_routing", "mmdrex_ablation_choices"],
        name="mmdrex_and_ablation_exposures",
    ),
    Node(
        func=nodes.routing_diagnostics,
        inputs=["rl_panel", "instruments", "mmdrex_routing", "router_model", *PARAMS],
        outputs=[
            "routing_diagnostic_returns",
            "routing_diagnostics",
            "routing_oracle_weights",
            "routing_by_predicted_regime",
        ],
        name="routing_oracle_diagnostics",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["expert_rl"])
