"""labeling: ohlcv + instruments + split -> regimes -> label_distribution, label_report,
label_distribution_plot."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.labeling import nodes

NODES = [
    Node(
        func=nodes.regimes,
        inputs=["ohlcv", "instruments", "split", "params:labeling"],
        outputs="regimes",
        name="label_forward_regimes",
    ),
    Node(
        func=nodes.label_report,
        inputs=["regimes", "params:labeling"],
        outputs=["label_distribution", "label_report"],
        name="report_label_distribution",
    ),
    Node(
        func=nodes.label_distribution_plot,
        inputs="label_distribution",
        outputs="label_distribution_plot",
        name="plot_label_distribution",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["labeling"])
