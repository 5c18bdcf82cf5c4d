"""inference: ohlcv (latest bars) + trained router, expert pools and RL policy
-> features, text, chart, router, experts, policy at each instrument's last
bar -> inference_decisions (target exposure for the next open), report."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.inference import nodes

NODES = [
    Node(
        func=nodes.decide_next_open,
        inputs=[
            "ohlcv",
            "instruments",
            "split",
            "feature_normaliser",
            "router_model",
            "router_model_config",
            "expert_pools",
            "rl_policy",
            "rl_policy_config",
            "params:inference",
            "params:features",
            "params:charts",
            "params:router_sft",
            "params:experts",
            "params:backtest",
        ],
        outputs=["inference_decisions", "inference_report"],
        name="decide_next_open",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["inference"])
