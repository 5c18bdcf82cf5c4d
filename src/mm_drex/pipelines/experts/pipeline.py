"""experts: ohlcv + instruments + split + regimes -> expert_pools (and
expert_cross_fit_pools, one per held-out train block) -> expert_exposures ->
expert_soft_targets, expert_test_performance, expert_report."""

from kedro.pipeline import Node, Pipeline

from mm_drex.pipelines.experts import nodes

MARKET_DATA = ["ohlcv", "instruments", "split", "regimes"]
PARAMS = ["params:experts", "params:backtest"]


NODES = [
    Node(
        func=nodes.search_pools,
        inputs=[*MARKET_DATA, *PARAMS],
        outputs="expert_pools",
        name="search_and_audit_expert_pools",
    ),
    Node(
        func=nodes.search_cross_fit_pools,
        inputs=[*MARKET_DATA, "expert_pools", *PARAMS],
        outputs="expert_cross_fit_pools",
        name="search_cross_fit_pools",
    ),
    Node(
        func=nodes.expert_exposures,
        inputs=[*MARKET_DATA, "expert_pools", "expert_cross_fit_pools", *PARAMS],
        outputs="expert_exposures",
        name="mix_expert_exposures",
    ),
    Node(
        func=nodes.soft_targets,
        inputs=[*MARKET_DATA, "expert_exposures", *PARAMS, "params:labeling"],
        outputs="expert_soft_targets",
        name="expert_soft_targets",
    ),
    Node(
        func=nodes.expert_report,
        inputs=["expert_exposures", *MARKET_DATA, "expert_pools", PARAMS[1]],
        outputs=["expert_test_performance", "expert_report"],
        name="report_experts_on_test",
    ),
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(NODES, tags=["experts"])
