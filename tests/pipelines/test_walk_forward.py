"""The walk-forward protocol on the test configuration's two short folds
(2012: the four stocks; 2018: the two indices), end to end through Kedro."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_kedro_pipeline

TEST_STARTS = {"fold_2012": "2012-01-01", "fold_2018": "2018-01-01"}

# everything a fold chooses, fits or selects (on its train and val windows)
CHOICES = [
    "02_intermediate/folds/{fold}/split.parquet",
    "04_feature/folds/{fold}/feature_normaliser.parquet",
    "07_model_output/folds/{fold}/baseline_selection.parquet",
    "08_reporting/folds/{fold}/router_training_log.parquet",
    "08_reporting/folds/{fold}/rl_training_log.parquet",
    "08_reporting/folds/{fold}/rl_selection.parquet",
    "08_reporting/folds/{fold}/mmdrex_ablation_choices.parquet",
    # the oracle's per-regime weights are chosen on val with the true regime
    "08_reporting/folds/{fold}/routing_oracle_weights.parquet",
]
POOLS = "06_models/folds/{fold}/expert_pools.json"
EXPOSURES = "07_model_output/folds/{fold}/strategy_exposures.parquet"


@pytest.fixture(scope="module")
def walk_forward_root(
    ingested_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    root = tmp_path_factory.mktemp("walk_forward")
    shutil.copytree(ingested_root, root, dirs_exist_ok=True)
    run_kedro_pipeline(["walk_forward_inputs", *TEST_STARTS], root)
    return root


def test_each_fold_is_its_own_chain_and_the_report_chains_their_test_windows(
    walk_forward_root: Path, tmp_path: Path
):
    root = walk_forward_root
    # the out-of-sample part of the default pipeline, from the folds' outputs
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    run_kedro_pipeline("walk_forward", tmp_path, tags=["walk_forward_report"])
    for fold, start in TEST_STARTS.items():
        split = pd.read_parquet(root / f"02_intermediate/folds/{fold}/split.parquet")
        test = split[split["segment"] == "test"]
        assert (test["start"] >= pd.Timestamp(start)).all()
        normaliser = pd.read_parquet(
            root / f"04_feature/folds/{fold}/feature_normaliser.parquet"
        )
        # fitted on the fold's own instruments only
        assert set(normaliser["instrument"]) == set(split["instrument"])
    positions = pd.read_parquet(
        tmp_path / "07_model_output/walk_forward_positions.parquet"
    )
    assert set(positions["timestamp"].dt.year) == {2012, 2018}
    per_fold = [
        pd.read_parquet(
            tmp_path / f"07_model_output/folds/{fold}/backtest_positions.parquet"
        )
        for fold in TEST_STARTS
    ]
    assert len(positions) == sum(len(p) for p in per_fold)
    table = pd.read_parquet(tmp_path / "08_reporting/walk_forward/fold_table.parquet")
    assert set(table["fold"]) == {*TEST_STARTS, "all_folds"}
    strategies = set(table["strategy"])
    assert {"mm_drex", "buy_hold", "mm_drex_sft_only", "mm_drex_no_chart"} <= strategies
    main = pd.read_parquet(tmp_path / "08_reporting/walk_forward/main_table.parquet")
    assert len(main)
    report = (tmp_path / "08_reporting/walk_forward_report.md").read_text()
    for section in (
        "Per-fold results",
        "Main table",
        "Cost sensitivity",
        "fold_2012",
        "Does the routing add value?",
        "How much routing could be worth",
        "Captured share",
        "Is the state perceivable?",
    ):
        assert section in report
    # the oracle bounds per fold and over all folds, with the captured share
    oracle = pd.read_parquet(
        tmp_path / "08_reporting/walk_forward/routing_diagnostics.parquet"
    )
    test = oracle[oracle["segment"] == "test"]
    assert set(test["fold"]) == {*TEST_STARTS, "all_folds"}
    assert test.groupby("fold")["candidate"].nunique().eq(7).all()
    mine = test[test["candidate"] == "mm_drex"]
    assert mine["captured_mm_drex_oracle_hindsight_expert"].notna().all()
    claims = pd.read_parquet(
        tmp_path / "08_reporting/walk_forward/routing_comparisons.parquet"
    )
    assert {"RL beats SFT-only", "the chart view helps the router"} <= set(
        claims["claim"]
    )
    assert (claims["ci_low"] <= claims["sharpe_difference"]).all()
    perception = pd.read_parquet(
        tmp_path / "08_reporting/walk_forward/router_evaluation.parquet"
    )
    assert {"router", "persistence_rule", "no_chart"} <= set(perception["model"])
    # every decision of a test window can be explained
    trail = pd.read_parquet(tmp_path / "08_reporting/walk_forward/audit_trail.parquet")
    assert set(trail["fold"]) == set(TEST_STARTS)
    decision = trail[trail["fold"] == "fold_2012"].iloc[10]
    date = str(pd.Timestamp(decision["timestamp"]).date())
    run_kedro_pipeline(
        "explain_walk_forward",
        tmp_path,
        {"explain": {"instrument": decision["instrument"], "date": date}},
    )
    page = (tmp_path / "08_reporting/walk_forward/explain/explanation.md").read_text()
    assert decision["instrument"] in page and date in page


def _scrambled(ohlcv: pd.DataFrame, start: str, seed: int) -> pd.DataFrame:
    """Bars on and after ``start`` shuffled within each instrument (each bar
    stays a valid bar; the timestamps stay)."""
    out = ohlcv.copy()
    rng = np.random.default_rng(seed)
    values = ["open", "high", "low", "close", "volume"]
    for _, rows in out.groupby("instrument", sort=False):
        late = rows.index[rows["timestamp"] >= pd.Timestamp(start)]
        if len(late) > 1:
            out.loc[late, values] = out.loc[rng.permutation(late), values].to_numpy()
    return out


@pytest.mark.parametrize("fold", list(TEST_STARTS))
def test_no_choice_of_a_fold_changes_when_its_test_window_and_after_is_scrambled(
    fold: str, walk_forward_root: Path, ingested_root: Path, tmp_path: Path
):
    shutil.copytree(ingested_root, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "02_intermediate" / "ohlcv.parquet"
    original = pd.read_parquet(path)
    scrambled = _scrambled(original, TEST_STARTS[fold], seed=7)
    late = original["timestamp"] >= pd.Timestamp(TEST_STARTS[fold])
    assert not np.allclose(scrambled.loc[late, "close"], original.loc[late, "close"])
    scrambled.to_parquet(path)
    run_kedro_pipeline("walk_forward_inputs", tmp_path)
    # the fold alone, as `kedro run --namespaces <fold>` reruns it
    run_kedro_pipeline("walk_forward", tmp_path, namespaces=[fold])

    for pattern in CHOICES:
        name = pattern.format(fold=fold)
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / name),
            pd.read_parquet(walk_forward_root / name),
            obj=name,
        )
    pools = [
        json.loads((r / POOLS.format(fold=fold)).read_text())
        for r in (tmp_path, walk_forward_root)
    ]
    assert pools[0] == pools[1]
    # every strategy decides the same on every bar before the test window
    before = [
        (lambda t: t[t["timestamp"] < pd.Timestamp(TEST_STARTS[fold])])(
            pd.read_parquet(r / EXPOSURES.format(fold=fold))
        ).reset_index(drop=True)
        for r in (tmp_path, walk_forward_root)
    ]
    assert len(before[0]) > 0
    pd.testing.assert_frame_equal(before[0], before[1])
    # and the test window was really scrambled for the fold
    after = [
        pd.read_parquet(r / EXPOSURES.format(fold=fold))
        for r in (tmp_path, walk_forward_root)
    ]
    assert not after[0]["target_exposure"].equals(after[1]["target_exposure"])


def _same_file(path: Path, reference: Path) -> bool:
    if path.suffix == ".parquet":
        pd.testing.assert_frame_equal(
            pd.read_parquet(path), pd.read_parquet(reference), obj=str(path)
        )
        return True
    return path.read_bytes() == reference.read_bytes()


def test_the_dask_runner_on_a_two_worker_local_cluster_gives_the_sequential_outputs(
    walk_forward_root: Path, ingested_root: Path, tmp_path: Path
):
    """The shared inputs and both folds under ``DaskRunner`` (a 2-worker
    ``LocalCluster`` it starts and stops) write the files the sequential runner
    wrote in ``walk_forward_root``: every parquet frame equal (values, dtypes,
    index), every other file byte for byte; and no process is left behind."""
    import psutil

    from mm_drex.pipelines.runner import DaskRunner

    shutil.copytree(ingested_root, tmp_path, dirs_exist_ok=True)
    before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    children = {c.pid for c in psutil.Process().children(recursive=True)}
    run_kedro_pipeline(
        ["walk_forward_inputs", *TEST_STARTS],
        tmp_path,
        runner=DaskRunner(n_workers=2, threads_per_worker=1),
    )
    # Python's multiprocessing starts one resource tracker per process, which
    # lives as long as its parent (pytest here): not a process of the cluster
    left = [
        c
        for c in psutil.Process().children(recursive=True)
        if c.pid not in children
        and c.is_running()
        and c.status() != psutil.STATUS_ZOMBIE
        and "multiprocessing.resource_tracker" not in " ".join(c.cmdline())
    ]
    assert not left, f"processes left: {[' '.join(c.cmdline()) for c in left]}"
    written = sorted(
        p.relative_to(tmp_path)
        for p in tmp_path.rglob("*")
        if p.is_file() and p.relative_to(tmp_path) not in before
    )
    folds = [p for p in written if "folds" in p.parts]
    assert {p.parts[2] for p in folds if p.parts[1] == "folds"} == set(TEST_STARTS)
    sequential = {
        p.relative_to(walk_forward_root)
        for p in walk_forward_root.rglob("*")
        if p.is_file()
    }
    # the same files written (both roots started from the ingested one)
    assert set(written) == sequential - before
    differ = [p for p in written if not _same_file(tmp_path / p, walk_forward_root / p)]
    assert not differ, f"files that differ from the sequential run: {differ}"
