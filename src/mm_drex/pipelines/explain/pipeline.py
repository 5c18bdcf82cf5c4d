"""explain: audit_trail, chart_index, chart_shards, regimes + params:explain
(instrument, date) -> explanation.md and explanation_chart.png.

    kedro run --pipelines explain --params "explain.instrument=SP500,explain.date=2017-03-01"
"""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.explain import nodes

NODES = [
    Node(
        func=nodes.explain_decision,
        inputs=[
            "audit_trail",
            "chart_index",
            "chart_shards",
            "regimes",
            "params:explain",
        ],
        outputs=["explanation", "explanation_chart"],
        name="explain_decision",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["explain"])
