"""charts: ohlcv + split -> chart_plan -> chart_shards (lazy, shard by shard)
-> chart_index (sha256 of stored pixels) -> sample_charts, chart_renderers,
charts_summary."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.charts import nodes

NODES = [
    Node(
        func=nodes.plan,
        inputs=["ohlcv", "split", "params:charts"],
        outputs="chart_plan",
        name="plan_chart_shards",
    ),
    Node(
        func=nodes.render_shards,
        inputs=["ohlcv", "chart_plan", "params:charts"],
        outputs="chart_shards",
        name="render_raster_chart_shards",
    ),
    Node(
        func=nodes.index_shards,
        inputs=["chart_plan", "chart_shards"],
        outputs="chart_index",
        name="index_chart_shards",
    ),
    Node(
        func=nodes.samples,
        inputs=["ohlcv", "chart_index", "params:charts"],
        outputs="sample_charts",
        name="render_mplfinance_samples",
    ),
    Node(
        func=nodes.renderers,
        inputs=["ohlcv", "chart_index", "params:charts"],
        outputs="chart_renderers",
        name="compare_chart_renderers",
    ),
    Node(
        func=nodes.summary,
        inputs=["chart_index", "params:charts"],
        outputs="charts_summary",
        name="summarise_charts",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["charts"])
