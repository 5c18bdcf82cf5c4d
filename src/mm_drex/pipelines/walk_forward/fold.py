"""One fold of the walk-forward pipeline: the stages' own nodes in the
namespace ``fold_<year>``, fed by the fold's inputs and parameters."""

from __future__ import annotations

from functools import partial

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.audit import pipeline as audit
from mm_drex.pipelines.backtest import pipeline as backtest
from mm_drex.pipelines.baselines import pipeline as baselines
from mm_drex.pipelines.expert_rl import pipeline as expert_rl
from mm_drex.pipelines.experts import pipeline as experts
from mm_drex.pipelines.features import pipeline as features
from mm_drex.pipelines.labeling import pipeline as labeling
from mm_drex.pipelines.router_inputs import pipeline as router_inputs
from mm_drex.pipelines.router_sft import pipeline as router_sft
from mm_drex.pipelines.walk_forward import nodes
from mm_drex.pipelines.walk_forward.shared import named

# the stages' nodes a fold refits, by stage
FOLD_NODES = {
    "features": (
        features.NODES,
        (
            "fit_feature_normaliser_on_train",
            "normalise_features",
            "summarise_features",
        ),
    ),
    "labeling": (labeling.NODES, None),
    "experts": (experts.NODES, None),
    "router_inputs": (
        router_inputs.NODES,
        ("build_router_decision_points", "build_router_temporal_sequences"),
    ),
    "router_sft": (router_sft.NODES, None),
    "expert_rl": (expert_rl.NODES, None),
    "baselines": (baselines.NODES, None),
    "backtest": (backtest.NODES, None),
    "audit": (audit.NODES, None),
}
# datasets every fold reads as they are (the rest of its inputs are its own)
SHARED_INPUTS = {
    "text_view",
    "chart_shards",
    "shared_router_texts",
    "shared_router_text_embeddings",
}
# the fold's own parameters of the refitted stages (fold_parameters)
FOLD_PARAMETERS = {
    f"params:{name}": f"{name}_parameters" for name in nodes.REFITTED_STAGES
}


def _rewired(node: Node, tag: str) -> Node:
    inputs = [FOLD_PARAMETERS.get(name, name) for name in node.inputs]
    # Node._copy: how Kedro's own namespacing copies a node (the outputs keep
    # their declared form, a name or a list)
    return node._copy(inputs=inputs, tags={*node.tags, tag})


def fold_pipeline(fold: str) -> Pipeline:
    """The chain of one fold, in namespace ``fold``."""
    entry = [
        Node(
            func=partial(nodes.fold_inputs, fold=fold),
            inputs=["folds", "ohlcv", "instruments", "features_raw", "chart_index"],
            outputs=[
                f"{fold}.{name}"
                for name in (
                    "split",
                    "ohlcv",
                    "instruments",
                    "features_raw",
                    "chart_index",
                )
            ],
            name="fold_inputs",
            namespace=fold,
            tags=["walk_forward"],
        ),
        Node(
            func=nodes.fold_chart_trunk,
            inputs=["chart_index", f"{fold}.split", "shared_router_chart_trunk"],
            outputs=f"{fold}.router_chart_trunk",
            name="fold_chart_trunk",
            namespace=fold,
            tags=["walk_forward"],
        ),
        Node(
            func=partial(nodes.fold_parameters, fold=fold),
            inputs=[
                *FOLD_PARAMETERS,
                "params:ingestion.walk_forward",
            ],
            outputs=[f"{fold}.{name}" for name in FOLD_PARAMETERS.values()],
            name="fold_parameters",
            namespace=fold,
            tags=["walk_forward"],
        ),
    ]
    chain = [
        _rewired(node, "walk_forward")
        for stage, (stage_nodes, names) in FOLD_NODES.items()
        for node in (stage_nodes if names is None else named(stage_nodes, names))
    ]
    chain.append(
        Node(
            func=nodes.fold_text_embeddings,
            inputs=[
                "router_texts",
                "shared_router_texts",
                "shared_router_text_embeddings",
            ],
            outputs="router_text_embeddings",
            name="fold_text_embeddings",
            tags=["walk_forward"],
        )
    )
    body = Pipeline(chain)
    parameters = {name for name in body.inputs() if name.startswith("params:")}
    return Pipeline(entry) + Pipeline(
        body,
        namespace=fold,
        inputs=SHARED_INPUTS & body.inputs(),
        parameters=parameters,
    )
