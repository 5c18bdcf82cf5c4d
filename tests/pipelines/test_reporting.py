"""`kedro run --pipelines audit,reporting,figures,run_report` reads its inputs
through the project's catalog and writes report.md and every table and figure
through it. The MM-DREX stages' own outputs (the decision log, the MM-DREX
report) are given: the nodes that make them are left out here and run in
tests/pipelines/test_expert_rl.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from matplotlib.figure import Figure

from tests.conftest import PROJECT_ROOT, run_kedro_pipeline

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline

REPORT_STAGES = ["audit", "reporting", "figures", "run_report"]
GIVEN = {"mmdrex_decision_log", "mmdrex_report"}  # nodes whose outputs are given


def report_nodes() -> list[str]:
    from mm_drex.pipeline_registry import register_pipelines

    bootstrap_project(PROJECT_ROOT)
    pipelines = register_pipelines()
    return [
        node.name
        for stage in REPORT_STAGES
        for node in pipelines[stage].nodes
        if node.name not in GIVEN
    ]


# the val scores of the RL stage's checkpoints (its penalty-grid search, seed 42):
# the trials behind MM-DREX's deflated Sharpe ratio
RL_TRAINING_LOG = pd.DataFrame(
    {
        "entry": [0, 0, 0, 1, 1, 1, 0],
        "seed": [42, 42, 42, 42, 42, 42, 43],
        "iteration": [0, 5, 10, 0, 5, 10, 0],
        "val_score": [0.10, 0.35, 0.20, 0.10, -0.05, 0.40, 0.30],
    }
)

UPSTREAM_TEXT = {
    "label_report": "# Regime labels\n\nfrom labeling",
    "expert_report": "# Experts alone\n\nfrom experts",
    "router_evaluation_report": "# Router evaluation\n\nfrom router_sft",
    "mmdrex_report": "# MM-DREX\n\nfrom expert_rl",
}


def _save_upstream(root: Path, evaluated_run: dict, env: str = "test") -> None:
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT, env=env, runtime_params={"data_root": str(root)}
    ) as session:
        catalog = session.load_context().catalog
        for name, value in evaluated_run.items():
            if name != "backtest_params":
                catalog.save(name, value)
        for name, text in UPSTREAM_TEXT.items():
            catalog.save(name, text)
        catalog.save(
            "backtest_sharpe_tests", pd.DataFrame({"level": pd.Series(dtype=str)})
        )
        catalog.save(
            "baseline_selection", pd.DataFrame({"strategy": pd.Series(dtype=str)})
        )
        catalog.save("rl_training_log", RL_TRAINING_LOG)
        catalog.save(
            "data_quality",
            pd.DataFrame(
                {"instrument": ["WTI"], "rule": ["negative_price"], "action": ["keep"]}
            ),
        )
        chart = Figure(figsize=(2, 2))
        chart.subplots().plot([0, 1], [0, 1])
        catalog.save("sample_charts", {"SP500_2018-06-01": chart})


@pytest.fixture(scope="module")
def reported_root(tmp_path_factory, evaluated_run) -> Path:
    """A data root where the upstream tables are saved and reporting ran."""
    root = tmp_path_factory.mktemp("reported")
    _save_upstream(root, evaluated_run)
    run_kedro_pipeline(
        REPORT_STAGES,
        root,
        {
            "backtest": {"bootstrap": {"n_boot": 100}},
            "reporting": {"tearsheet_markets": ["crypto"]},
        },
        node_names=report_nodes(),
    )
    return root


def test_kedro_run_reporting_writes_the_report_and_its_tables(reported_root):
    reporting = reported_root / "08_reporting"
    report = (reporting / "report.md").read_text()
    for expected in (
        "from router_sft",
        "from expert_rl",
        "from experts",
        "from labeling",
        "negative_price",
        "mm_drex",
        "sample_charts/SP500_2018-06-01.png",
    ):
        assert expected in report
    for name in (
        "report_main_table.parquet",
        "report_spa.parquet",
        "report_cost_sensitivity.parquet",
        "report_attribution.png",
        "report_routing_weights.png",
        "backtest_market_nav_drawdown.png",
    ):
        assert (reporting / name).stat().st_size > 0, name
    pages = sorted(p.name for p in (reporting / "tearsheets").iterdir())
    assert pages == ["crypto_mm_drex.html", "crypto_ts_momentum.html"]
    page = (reporting / "tearsheets" / "crypto_mm_drex.html").read_text()
    assert "Benchmark" in page
    trail = pd.read_parquet(reporting / "audit_trail.parquet")
    assert trail["chart_hash_matches"].all()
    assert {"next_open", "close", "chart_shard"} <= set(trail.columns)
    main = pd.read_parquet(reporting / "report_main_table.parquet")
    assert {"mm_drex", "buy_hold", "ts_momentum"} == set(main["strategy"])


def test_explain_writes_one_page_for_an_instrument_and_date(
    reported_root, evaluated_run
):
    log = evaluated_run["mmdrex_decision_log"]
    rows = log[(log["instrument"] == "WTI") & (log["seed"] == 42)].sort_values(
        "timestamp"
    )
    decision = rows.iloc[len(rows) // 2]
    date = str(decision["timestamp"].date())
    run_kedro_pipeline(
        "explain", reported_root, {"explain": {"instrument": "WTI", "date": date}}
    )
    folder = reported_root / "08_reporting" / "explain"
    page = (folder / "explanation.md").read_text()
    assert f"on WTI at the close of {date}" in page
    assert "![chart](explanation_chart.png)" in page
    assert f"{decision['w_trend']:.3f}" in page
    assert f"{decision['net_return']:.6f}" in page
    assert decision["chart_sha256"] in page
    assert "matches the decision log: True" in page
    assert (folder / "explanation_chart.png").stat().st_size > 0


def test_explain_of_a_date_before_the_log_names_instrument_and_span(reported_root):
    with pytest.raises(Exception, match="instrument 'BTC', date 1990-01-01"):
        run_kedro_pipeline(
            "explain",
            reported_root,
            {"explain": {"instrument": "BTC", "date": "1990-01-01"}},
        )


def test_a_base_run_records_parameters_metrics_and_report_in_mlflow(
    tmp_path, evaluated_run
):
    from mlflow.tracking import MlflowClient

    _save_upstream(tmp_path, evaluated_run, env="base")
    run_kedro_pipeline(
        REPORT_STAGES,
        tmp_path,
        {
            "backtest": {"bootstrap": {"n_boot": 100}},
            "reporting": {"tearsheet_markets": ["crypto"]},
        },
        env="base",
        node_names=report_nodes(),
    )
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("mm_drex")
    (run,) = client.search_runs([experiment.experiment_id])
    main = pd.read_parquet(tmp_path / "08_reporting" / "report_main_table.parquet")
    lead = main[(main["strategy"] == "mm_drex") & (main["name"] == "stocks")]
    metric = run.data.metrics["report_headline_metrics.mm_drex.stocks.sharpe"]
    assert metric == lead["sharpe_mean"].iloc[0]
    assert run.data.params["reporting.lead_strategy"] == "mm_drex"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.md", "report_main_table.parquet"} <= artifacts
    assert (tmp_path / "mlartifacts").is_dir()
