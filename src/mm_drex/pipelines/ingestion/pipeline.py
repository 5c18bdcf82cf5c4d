"""ingestion: bundled_market_data + user_market_files -> ohlcv, instruments,
data_quality -> split (the quick single split) and folds (the walk-forward
plan on the common calendar)."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.ingestion import nodes

NODES = [
    Node(
        func=nodes.ingest,
        inputs=["bundled_market_data", "user_market_files", "params:ingestion"],
        outputs=["ohlcv", "instruments", "data_quality"],
        name="ingest_and_validate",
    ),
    Node(
        func=nodes.split,
        inputs=[
            "ohlcv",
            "instruments",
            "params:ingestion.split",
            "params:labeling.horizon",
            "params:baselines.strategies",
        ],
        outputs="split",
        name="chronological_split",
    ),
    Node(
        func=nodes.walk_forward,
        inputs=[
            "ohlcv",
            "instruments",
            "params:ingestion.walk_forward",
            "params:ingestion.split",
            "params:labeling.horizon",
            "params:baselines.strategies",
        ],
        outputs="folds",
        name="walk_forward_plan",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["ingestion"])
