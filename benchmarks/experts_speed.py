"""Time the experts stage on the full default universe.

Usage: python benchmarks/experts_speed.py [--data-root data] [--pool-by market]

Copies the ingestion outputs of ``--data-root`` (run `kedro run --pipeline
ingestion` first) into a temporary data root, runs the labeling stage there,
then times every part of the experts stage through the library (search and
audit, exposures, soft targets, report) and the whole `experts` pipeline
through Kedro. Prints the figures recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_pipeline(name: str, data_root: Path, params: dict | None = None) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    runtime = {"data_root": str(data_root), **(params or {})}
    with KedroSession.create(
        project_path=PROJECT_ROOT, runtime_params=runtime
    ) as session:
        session.run(pipeline_name=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(PROJECT_ROOT / "data"))
    parser.add_argument(
        "--pool-by", default="market", choices=["market", "asset_class"]
    )
    args = parser.parse_args()

    import pandas as pd
    import yaml

    from mm_drex.backtest.settings import BacktestSettings
    from mm_drex.experts.history import build_histories, pooling_groups
    from mm_drex.experts.pools import expert_exposure_table
    from mm_drex.experts.search import build_expert_pools
    from mm_drex.experts.settings import ExpertSettings
    from mm_drex.experts.soft_targets import expert_soft_targets
    from mm_drex.reporting.experts import expert_test_performance

    root = Path(tempfile.mkdtemp(prefix="experts_bench_"))
    try:
        shutil.copytree(
            Path(args.data_root) / "02_intermediate", root / "02_intermediate"
        )
        run_pipeline("labeling", root)
        ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
        instruments = pd.read_parquet(root / "02_intermediate/instruments.parquet")
        split = pd.read_parquet(root / "02_intermediate/split.parquet")
        regimes = pd.read_parquet(root / "05_model_input/regimes.parquet")
        conf = PROJECT_ROOT / "conf/base"
        settings = ExpertSettings.from_params(
            yaml.safe_load((conf / "parameters_experts.yml").read_text())["experts"]
        )
        backtest = BacktestSettings.from_params(
            yaml.safe_load((conf / "parameters_backtest.yml").read_text())["backtest"]
        )
        # labeling.horizon is ${globals:label_horizon} in the base configuration
        horizon = int(
            yaml.safe_load((conf / "globals.yml").read_text())["label_horizon"]
        )

        timings = {}
        start = time.perf_counter()
        groups = pooling_groups(instruments, backtest.markets, args.pool_by)
        histories = build_histories(ohlcv, instruments, split, regimes, groups)
        config = settings.search_config()
        catalog = build_expert_pools(histories, config, experts=settings.experts)
        timings["search + audit"] = time.perf_counter() - start
        start = time.perf_counter()
        exposures = expert_exposure_table(
            histories, catalog, settings.pooling.temperature
        )
        timings["expert_exposures"] = time.perf_counter() - start
        start = time.perf_counter()
        expert_soft_targets(
            histories,
            exposures,
            horizon,
            settings.risk_aversion,
            settings.soft_targets.temperature,
        )
        timings["soft targets"] = time.perf_counter() - start
        start = time.perf_counter()
        expert_test_performance(
            exposures, ohlcv, instruments, split, regimes, backtest, catalog["regimes"]
        )
        timings["report"] = time.perf_counter() - start

        n_studies = sum(len(p["study_seeds"]) for p in catalog["pools"])
        print(
            f"bars: {len(ohlcv)}, instruments: {len(instruments)}, pool_by: {args.pool_by}"
        )
        print(
            f"pools: {len(catalog['pools'])}, studies: {n_studies}, "
            f"trials: {n_studies * config.n_trials}"
        )
        for name, seconds in timings.items():
            print(f"  {name:<18} {seconds:7.1f} s")
        print(f"  {'library total':<18} {sum(timings.values()):7.1f} s")

        start, cpu = time.perf_counter(), time.process_time()
        run_pipeline("experts", root, {"experts.pool_by": args.pool_by})
        print(
            f"kedro run --pipelines experts: {time.perf_counter() - start:.1f} s wall, "
            f"{time.process_time() - cpu:.1f} s CPU (this process), "
            f"{os.cpu_count()} cores visible"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
