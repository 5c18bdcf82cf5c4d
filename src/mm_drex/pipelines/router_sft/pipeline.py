"""router_sft: the router_inputs caches -> train_router (SFT, epoch selected
on val) -> predict_router on every decision point -> router_weights,
router_states; the view ablations trained from scratch; evaluate_router."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.router_sft import nodes

CACHES = [
    "router_decision_points",
    "router_texts",
    "router_temporal",
    "router_text_embeddings",
    "router_chart_trunk",
]
MODEL = ["router_model", "router_model_config"]


NODES = [
    Node(
        func=nodes.train_router,
        inputs=[*CACHES, "chart_shards", "params:features", "params:router_sft"],
        outputs=[*MODEL, "router_training_log"],
        name="train_router",
        tags=["gpu"],
    ),
    Node(
        func=nodes.train_ablations,
        inputs=[*CACHES, "params:features", "params:router_sft"],
        outputs="router_ablation_predictions",
        name="train_router_ablations",
        tags=["gpu"],
    ),
    Node(
        func=nodes.predict_router,
        inputs=[*CACHES, "chart_shards", *MODEL, "params:router_sft"],
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
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["router_sft"])
