"""router_sft: chart_index + text_view + regimes + expert_soft_targets ->
router_decision_points -> frozen caches (temporal sequences, text embeddings,
image trunk) -> train_router (SFT, selection on val) -> predict_router on every
decision point -> evaluate_router (+ ablations trained from scratch)."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.router_sft import nodes

CACHES = [
    "router_decision_points",
    "router_texts",
    "router_temporal",
    "router_text_embeddings",
    "router_chart_trunk",
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.build_decision_points,
                inputs=["chart_index", "text_view", "regimes", "expert_soft_targets"],
                outputs=["router_decision_points", "router_texts"],
                name="build_router_decision_points",
            ),
            Node(
                func=nodes.build_temporal_sequences,
                inputs=[
                    "router_decision_points",
                    "features",
                    "params:features.indicators",
                    "params:router_sft",
                ],
                outputs="router_temporal",
                name="build_router_temporal_sequences",
            ),
            Node(
                func=nodes.embed_texts,
                inputs=["router_texts", "params:router_sft"],
                outputs="router_text_embeddings",
                name="embed_distinct_text_views",
                tags=["gpu"],
            ),
            Node(
                func=nodes.encode_chart_trunk,
                inputs=["router_decision_points", "chart_shards", "params:router_sft"],
                outputs="router_chart_trunk",
                name="encode_chart_image_trunk",
                tags=["gpu"],
            ),
            Node(
                func=nodes.train_router,
                inputs=[
                    *CACHES,
                    "chart_shards",
                    "params:features.indicators",
                    "params:router_sft",
                ],
                outputs=["router_model", "router_model_config", "router_training_log"],
                name="train_router",
                tags=["gpu"],
            ),
            Node(
                func=nodes.train_ablations,
                inputs=[*CACHES, "params:features.indicators", "params:router_sft"],
                outputs="router_ablation_predictions",
                name="train_router_ablations",
                tags=["gpu"],
            ),
            Node(
                func=nodes.predict_router,
                inputs=[
                    *CACHES,
                    "chart_shards",
                    "router_model",
                    "router_model_config",
                    "params:router_sft",
                ],
                outputs=["router_weights", "router_states"],
                name="predict_router",
                tags=["gpu"],
            ),
            Node(
                func=nodes.evaluate_router,
                inputs=[
                    "router_decision_points",
                    "router_weights",
                    "router_ablation_predictions",
                    "params:router_sft",
                ],
                outputs=[
                    "router_evaluation",
                    "router_evaluation_report",
                    "router_confusion_matrix",
                ],
                name="evaluate_router",
            ),
        ],
        tags=["router_sft"],
    )
