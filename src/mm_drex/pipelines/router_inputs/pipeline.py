"""router_inputs: chart_index + text_view + regimes + expert_soft_targets ->
router_decision_points, router_texts -> the frozen caches the router and the
LLMoE baseline read: temporal sequences, text embeddings, image trunk."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.router_inputs import nodes

NODES = [
    Node(
        func=nodes.decision_points,
        inputs=["chart_index", "text_view", "regimes", "expert_soft_targets"],
        outputs=["router_decision_points", "router_texts"],
        name="build_router_decision_points",
    ),
    Node(
        func=nodes.temporal_sequences,
        inputs=[
            "router_decision_points",
            "features",
            "params:features",
            "params:router_sft",
        ],
        outputs="router_temporal",
        name="build_router_temporal_sequences",
    ),
    Node(
        func=nodes.text_embeddings,
        inputs=["router_texts", "params:router_sft"],
        outputs="router_text_embeddings",
        name="embed_distinct_text_views",
        tags=["gpu"],
    ),
    Node(
        func=nodes.chart_trunk,
        inputs=["router_decision_points", "chart_shards", "params:router_sft"],
        outputs="router_chart_trunk",
        name="encode_chart_image_trunk",
        tags=["gpu"],
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["router_inputs"])
