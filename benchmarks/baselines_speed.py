"""Wall time of `kedro run --pipeline baselines` and of each baseline in it.

Usage::

    python benchmarks/baselines_speed.py [--data-root data] [--env local]

Runs the stage once in this process on an existing data root (ingestion,
features, charts and the router's caches must be there), then prints the
stage's wall time, the load average of the machine before and after, and the
per-baseline fit and exposure times from ``baseline_fit_log``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(PROJECT_ROOT / "data"))
    parser.add_argument(
        "--env", default=None, help="Kedro environment (default: local)"
    )
    args = parser.parse_args()
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MPLBACKEND", "Agg")
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    load_before = os.getloadavg()
    started = time.perf_counter()
    with KedroSession.create(
        project_path=PROJECT_ROOT,
        env=args.env,
        runtime_params={"data_root": args.data_root},
    ) as session:
        session.run(pipeline_name="baselines")
    wall = time.perf_counter() - started
    load_after = os.getloadavg()

    log = pd.read_parquet(
        Path(args.data_root) / "08_reporting" / "baseline_fit_log.parquet"
    )
    per_baseline = log.groupby("strategy", sort=False).agg(
        seeds=("seed", "nunique"),
        pool=("pool", "first"),
        fit_s=("fit_seconds", "sum"),
        exposures_s=("exposure_seconds", "sum"),
    )
    per_baseline["total_s"] = per_baseline["fit_s"] + per_baseline["exposures_s"]
    print(
        f"cpu count {os.cpu_count()}, load average before {load_before}, after {load_after}"
    )
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"kedro run --pipeline baselines: {wall:.1f} s wall, peak RSS {peak_gb:.2f} GB"
    )
    print(f"sum of baseline fits + exposures: {per_baseline['total_s'].sum():.1f} s")
    print(per_baseline.round(1).to_markdown())


if __name__ == "__main__":
    main()
