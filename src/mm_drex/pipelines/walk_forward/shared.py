"""The walk-forward pipeline's shared part: what every fold reads, computed once."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.charts import pipeline as charts
from mm_drex.pipelines.features import pipeline as features
from mm_drex.pipelines.ingestion import pipeline as ingestion
from mm_drex.pipelines.router_inputs import nodes as router_inputs_nodes
from mm_drex.pipelines.walk_forward import nodes

SHARED_FEATURES = ("compute_raw_features", "build_text_view")


def named(stage_nodes: list[Node], names: tuple[str, ...]) -> list[Node]:
    found = [n for n in stage_nodes if n.name in names]
    missing = set(names) - {n.name for n in found}
    if missing:
        raise ValueError(f"walk_forward: no stage node named {sorted(missing)}")
    return found


def shared_pipeline() -> Pipeline:
    """Ingestion, then :func:`shared_inputs_pipeline`."""
    return ingestion.create_pipeline() + shared_inputs_pipeline()


def shared_inputs_pipeline() -> Pipeline:
    """What every fold reads of the ingested data: raw features and text view,
    charts, frozen trunks (causal: bar t's row reads bars <= t only)."""
    trunks = [
        Node(
            func=nodes.shared_texts,
            inputs=["chart_index", "text_view"],
            outputs="shared_router_texts",
            name="shared_router_texts",
        ),
        Node(
            func=router_inputs_nodes.text_embeddings,
            inputs=["shared_router_texts", "params:router_sft"],
            outputs="shared_router_text_embeddings",
            name="embed_shared_text_views",
            tags=["gpu"],
        ),
        Node(
            func=router_inputs_nodes.chart_trunk,
            inputs=["chart_index", "chart_shards", "params:router_sft"],
            outputs="shared_router_chart_trunk",
            name="encode_shared_chart_trunk",
            tags=["gpu"],
        ),
    ]
    return (
        Pipeline(named(features.NODES, SHARED_FEATURES), tags=["features"])
        + charts.create_pipeline()
        + Pipeline(trunks, tags=["router_inputs"])
    )
