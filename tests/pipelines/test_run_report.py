"""The report stages (audit, reporting, figures, run_report), run in process
on a small evaluated run, gather every table into one report whose numbers
come from the run's datasets. The MM-DREX stages' own outputs (decision log,
MM-DREX report) are given; the nodes that make them are left out."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mm_drex.experts.templates import EXPERTS
from mm_drex.reporting.attribution import UNATTRIBUTED
from tests.conftest import PROJECT_ROOT
from tests.pipelines.test_reporting import GIVEN, REPORT_STAGES, RL_TRAINING_LOG

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline


class KeptDataset(MemoryDataset):
    """A memory dataset the runner cannot release, so every output stays readable."""

    def _release(self) -> None:
        return None


def _reporting_params() -> dict:
    text = (PROJECT_ROOT / "conf" / "base" / "parameters_reporting.yml").read_text()
    return yaml.safe_load(text)["reporting"]


@pytest.fixture(scope="module")
def report_outputs(evaluated_run):
    params = {**_reporting_params(), "tearsheet_markets": []}
    inputs = {k: v for k, v in evaluated_run.items() if k != "backtest_params"}
    inputs.update(
        {
            "params:backtest": evaluated_run["backtest_params"],
            "params:reporting": params,
            "backtest_sharpe_tests": pd.DataFrame(),
            "baseline_selection": pd.DataFrame(),
            "rl_training_log": RL_TRAINING_LOG,
            "data_quality": pd.DataFrame(
                {"instrument": ["WTI"], "rule": ["negative_price"], "action": ["keep"]}
            ),
            "label_report": "# Regime labels\n\nlabel table",
            "expert_report": "# Experts alone\n\nexpert table",
            "router_evaluation_report": "# Router evaluation\n\nrouter table",
            "mmdrex_report": "# MM-DREX\n\nmmdrex table",
            "sample_charts": {"AAPL_2020-01-02": None},
        }
    )
    from kedro.framework.startup import bootstrap_project

    from mm_drex.pipeline_registry import register_pipelines

    bootstrap_project(PROJECT_ROOT)
    registered = register_pipelines()
    stages = sum((registered[name] for name in REPORT_STAGES[1:]), registered["audit"])
    pipeline = stages.only_nodes(*[n.name for n in stages.nodes if n.name not in GIVEN])
    outputs = sorted(pipeline.all_outputs())
    catalog = DataCatalog(
        datasets={
            **{
                name: MemoryDataset(value, copy_mode="assign")
                for name, value in inputs.items()
            },
            **{name: KeptDataset(copy_mode="assign") for name in outputs},
        }
    )
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in outputs}


def test_main_table_lists_every_strategy_per_market_and_average(report_outputs):
    table = report_outputs["report_main_table"]
    assert list(dict.fromkeys(table["strategy"]))[0] == "mm_drex"
    assert set(table["strategy"]) == {"mm_drex", "buy_hold", "ts_momentum"}
    assert set(table["name"]) == {"stocks", "futures", "crypto", "equal_market_average"}
    for metric in (
        "total_return",
        "sharpe",
        "max_drawdown",
        "sortino",
        "calmar",
        "annual_turnover",
        "q05_rolling_20",
    ):
        assert f"{metric}_mean" in table and f"{metric}_sd" in table
    mm = table[table["strategy"] == "mm_drex"]
    assert (mm["n_seeds"] == 2).all() and mm["sharpe_sd"].notna().all()


def test_headline_metrics_are_the_main_tables_means(report_outputs):
    metrics = report_outputs["report_headline_metrics"]
    table = report_outputs["report_main_table"].set_index(["strategy", "name"])
    key = ("mm_drex", "equal_market_average")
    sharpe = metrics["mm_drex.equal_market_average.sharpe"]
    assert sharpe == {"value": table.loc[key, "sharpe_mean"], "step": 0}
    assert len(metrics) == 3 * len(table)


def test_report_sharpe_numbers_are_the_main_tables(report_outputs):
    table = report_outputs["report_main_table"]
    report = report_outputs["run_report"]
    row = table[(table["strategy"] == "mm_drex") & (table["name"] == "stocks")].iloc[0]
    cell = f"{row['sharpe_mean']:.2f} ± {row['sharpe_sd']:.2f}"
    assert cell in report
    for section in (
        "Router evaluation",
        "Experts alone",
        "Regime labels",
        "negative_price",
        "Significance",
        "Cost sensitivity",
        "Results by regime",
        "Per-expert attribution",
        "sample_charts/AAPL_2020-01-02.png",
    ):
        assert section in report


def test_significance_compares_mmdrex_with_each_baseline_per_market(report_outputs):
    sharpe = report_outputs["report_sharpe_differences"]
    spa = report_outputs["report_spa"]
    assert set(sharpe["baseline"]) == {"buy_hold", "ts_momentum"}
    assert set(sharpe["name"]) == {"stocks", "futures", "crypto"}
    joint = spa[spa["baseline"] == "ALL"]
    assert len(joint) == 3
    per = spa[spa["baseline"] != "ALL"].groupby("name")["p_lead_beats"].max()
    assert np.allclose(
        joint.set_index("name")["p_lead_beats"], per.reindex(joint["name"])
    )


def test_cost_sensitivity_at_configured_cost_reproduces_the_main_table(report_outputs):
    costs = report_outputs["report_cost_sensitivity"]
    assert sorted(costs["cost_bps"].unique()) == [0, 5, 10, 20, 50]
    table = report_outputs["report_main_table"]
    # the test universe's instruments all cost 10 bps
    at10 = costs[costs["cost_bps"] == 10].set_index(["strategy", "name"])["sharpe_mean"]
    main = table.set_index(["strategy", "name"])["sharpe_mean"]
    assert np.allclose(at10.sort_index(), main.reindex(at10.index).sort_index())
    mm = costs[(costs["strategy"] == "mm_drex") & (costs["name"] == "stocks")]
    returns = mm.sort_values("cost_bps")["total_return_mean"].to_numpy()
    assert np.all(np.diff(returns) < 0)


def test_results_by_regime_cover_each_labelled_regime(report_outputs):
    table = report_outputs["report_by_regime"]
    assert {"uptrend", "downtrend", "sideways"} <= set(table["regime"])
    assert {"mm_drex", "buy_hold"} <= set(table["strategy"])


def test_attribution_returns_add_up_to_the_sleeve_return(report_outputs, evaluated_run):
    attribution = report_outputs["report_attribution"]
    log = evaluated_run["mmdrex_decision_log"]
    executed = log[np.isfinite(log["net_return"])]
    sleeve = executed.groupby(["seed", "instrument"])["net_return"].sum()
    attributed = attribution.groupby(["seed", "instrument"])["total_return"].sum()
    assert np.allclose(
        sleeve.sort_index(), attributed.reindex(sleeve.index).sort_index()
    )
    assert set(attribution["expert"]) == {*EXPERTS, UNATTRIBUTED}


def test_report_links_only_figures_the_catalog_writes(report_outputs):
    catalog = (PROJECT_ROOT / "conf" / "base").glob("catalog_*.yml")
    paths = "\n".join(p.read_text() for p in catalog)
    for link in re.findall(r"\]\(([^)]+\.png)\)", report_outputs["run_report"]):
        if link.startswith("sample_charts/"):
            continue
        assert f"08_reporting/{link}" in paths, link


def test_mmdrex_sharpe_is_deflated_by_its_rl_checkpoints(report_outputs):
    table = report_outputs["report_deflated_sharpe"]
    mm = table[table["strategy"] == "mm_drex"]
    assert set(mm["name"]) == {"stocks", "futures", "crypto"}
    # the six checkpoints of the first seed, not seed 43's
    assert (mm["n_trials"] == 6).all()
    scores = RL_TRAINING_LOG.loc[RL_TRAINING_LOG["seed"] == 42, "val_score"]
    assert np.allclose(mm["trial_sharpe_sd"], scores.std(ddof=1))
    assert mm["deflated_sharpe"].between(0, 1).all()
    assert (mm["n_seeds"] == 2).all()
    assert "Deflated Sharpe ratio" in report_outputs["run_report"]
