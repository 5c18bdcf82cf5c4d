"""ingestion: bundled_market_data + user_market_files -> ohlcv, instruments,
data_quality -> split."""

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
            "params:ingestion.split",
            "params:labeling.horizon",
            "params:baselines.strategies",
        ],
        outputs="split",
        name="chronological_split",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["ingestion"])
