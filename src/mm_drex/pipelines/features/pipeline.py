"""features: ohlcv + instruments + split -> features_raw -> feature_normaliser
(train only) -> features; ohlcv + features_raw -> text_view."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.features import nodes

NODES = [
    Node(
        func=nodes.raw_features,
        inputs=["ohlcv", "instruments", "split", "params:features"],
        outputs="features_raw",
        name="compute_raw_features",
    ),
    Node(
        func=nodes.fit_feature_normaliser,
        inputs=["features_raw", "params:features"],
        outputs="feature_normaliser",
        name="fit_feature_normaliser_on_train",
    ),
    Node(
        func=nodes.normalise_features,
        inputs=["features_raw", "feature_normaliser", "params:features"],
        outputs="features",
        name="normalise_features",
    ),
    Node(
        func=nodes.text_view,
        inputs=["ohlcv", "features_raw", "params:features"],
        outputs="text_view",
        name="build_text_view",
    ),
    Node(
        func=nodes.summary,
        inputs=["features", "text_view", "params:features"],
        outputs="features_summary",
        name="summarise_features",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["features"])
