"""Time the default pipeline under the sequential runner and the Dask runner.

Usage:
    python benchmarks/runner_speed.py --runner sequential [--env base]
    python benchmarks/runner_speed.py --runner dask --workers 2 [--env base]

Runs the default pipeline (``kedro run``: ingestion, the shared inputs, every
fold of the configuration and the out-of-sample report; ``--env base``: the
five default folds, ``--env test``: the test slices' two short folds) from
an empty data root under one runner, and prints the wall time and the peak
resident memory of the driver and of each process it started (the Dask
workers and their nannies), sampled every half second. Run the two runners
one after the other on an otherwise idle machine; docs/benchmarks.md,
*runners*, records the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _session(env: str, data_root: Path):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    return KedroSession.create(
        project_path=PROJECT_ROOT, env=env, runtime_params={"data_root": str(data_root)}
    )


def _fold_names(env: str, data_root: Path) -> list[str]:
    from mm_drex.pipelines.walk_forward.folds import names_from_params

    with _session(env, data_root) as session:
        return names_from_params(session.load_context().params)


def _session_run(env: str, data_root: Path, **run: object) -> None:
    with _session(env, data_root) as session:
        session.run(**run)


class PeakMemory:
    """The largest resident set of this process and of each of its
    descendants, sampled every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        import psutil

        self._root = psutil.Process()
        self._interval = interval
        self.driver = 0
        self.children: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            self.driver = max(self.driver, self._root.memory_info().rss)
            for child in self._root.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                self.children[child.pid] = max(self.children.get(child.pid, 0), rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=["sequential", "dask"], required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--env", default="base", choices=["test", "base"])
    args = parser.parse_args()

    runner = None
    if args.runner == "dask":
        from mm_drex.pipelines.runner import DaskRunner

        runner = DaskRunner(n_workers=args.workers, threads_per_worker=1)
    root = Path(tempfile.mkdtemp(prefix="runner_bench_"))
    try:
        folds = _fold_names(args.env, root)
        start = time.perf_counter()
        with PeakMemory() as memory:
            _session_run(args.env, root, runner=runner)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    workers = sorted(memory.children.values(), reverse=True)
    print(f"runner: {args.runner} (workers: {args.workers if runner else 1})")
    print(f"env: {args.env}, folds: {', '.join(folds)}")
    print(f"wall: {wall:.1f} s")
    print(f"peak driver RSS: {memory.driver / 2**30:.2f} GiB")
    if workers:
        print(
            "peak RSS of its processes (largest first): "
            + ", ".join(f"{rss / 2**30:.2f}" for rss in workers[: args.workers + 2])
            + " GiB"
        )


if __name__ == "__main__":
    main()
