"""baselines: ohlcv, instruments, split (+ the router's frozen caches) ->
baseline_exposures, baseline_selection, baseline_fit_log. The backtest stage
executes the exposures with every other strategy's."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.baselines import nodes

NODES = [
    Node(
        func=nodes.fit_baselines,
        inputs=[
            "ohlcv",
            "instruments",
            "split",
            "router_decision_points",
            "router_text_embeddings",
            "router_chart_trunk",
            "params:baselines",
            "params:backtest",
            "params:features",
        ],
        outputs=["baseline_exposures", "baseline_selection", "baseline_fit_log"],
        name="fit_baselines",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["baselines"])
