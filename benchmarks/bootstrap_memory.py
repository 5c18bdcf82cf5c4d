"""Peak memory of the Sharpe-difference bootstrap interval as the series grow.

Usage: python benchmarks/bootstrap_memory.py [--n-obs 50000 500000] [--n-boot 1000]

For each length, times ``sharpe_difference_interval`` (the chunked
resampling of ``mm_drex.backtest.metrics.bootstrap_replicates``) and the
same interval from the whole ``(n_boot, n_obs)`` index array (the
implementation before issue 16), and prints the peak of the memory numpy
allocated (``tracemalloc``) for each. The two intervals must be equal.
Recorded in docs/benchmarks.md, *bootstrap memory*.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from mm_drex.backtest import metrics


def _whole(a: np.ndarray, b: np.ndarray, n_boot: int) -> np.ndarray:
    indices = metrics.block_bootstrap_indices(len(a), 20, n_boot, 42)
    return metrics.sharpe_ratio(a[indices].T, 252) - metrics.sharpe_ratio(
        b[indices].T, 252
    )


def _chunked(a: np.ndarray, b: np.ndarray, n_boot: int) -> np.ndarray:
    return metrics.bootstrap_replicates(
        lambda x, y: metrics.sharpe_ratio(x, 252) - metrics.sharpe_ratio(y, 252),
        [a, b],
        20,
        n_boot,
        42,
    )


def _measure(function, *args) -> tuple[np.ndarray, float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    out = function(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-obs", type=int, nargs="+", default=[50_000, 500_000])
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    print(
        "| bars | resamples | chunked: peak MiB | s | whole index array: peak MiB | s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n_obs in args.n_obs:
        rng = np.random.default_rng(0)
        a, b = rng.normal(0.0003, 0.01, (2, n_obs))
        chunked, t_chunked, m_chunked = _measure(_chunked, a, b, args.n_boot)
        whole, t_whole, m_whole = _measure(_whole, a, b, args.n_boot)
        np.testing.assert_array_equal(chunked, whole)
        print(
            f"| {n_obs:,} | {args.n_boot:,} | {m_chunked:,.0f} | {t_chunked:.1f} "
            f"| {m_whole:,.0f} | {t_whole:.1f} |"
        )


if __name__ == "__main__":
    main()
