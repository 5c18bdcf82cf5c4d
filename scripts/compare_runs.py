"""Compare the outputs of two `kedro run`s (two data roots) table by table.

    python scripts/compare_runs.py BEFORE_DATA_ROOT AFTER_DATA_ROOT

For a change that must not change behaviour (a restructure): every parquet
table present in both roots is compared with ``DataFrame.equals`` (values,
dtypes, order). ``backtest_metrics`` is compared against the union of the
earlier layout's ``backtest_metrics`` (baselines) and ``mmdrex_metrics``
(MM-DREX, ablations) when the earlier root has both, in one canonical row
order (level, strategy, seed; the rows within keep their order). Prints one
line per table and exits 1 when a required table differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REQUIRED = ("report_main_table", "backtest_metrics", "mmdrex_decision_log")
LEVELS = {"instrument": 0, "market": 1, "average": 2}


def tables(root: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted(root.rglob("*.parquet"))}


def canonical_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    order = metrics.assign(_level=metrics["level"].map(LEVELS))
    order = order.sort_values(["_level", "strategy", "seed"], kind="stable")
    return order.drop(columns="_level").reset_index(drop=True)


def earlier_metrics(before: dict[str, Path]) -> pd.DataFrame:
    metrics = pd.read_parquet(before["backtest_metrics"])
    if "mmdrex_metrics" in before:
        mmdrex = pd.read_parquet(before["mmdrex_metrics"])
        new = mmdrex[~mmdrex["strategy"].isin(set(metrics["strategy"]))]
        metrics = pd.concat([metrics, new], ignore_index=True)
    return metrics


def main(before_root: str, after_root: str) -> int:
    before, after = tables(Path(before_root)), tables(Path(after_root))
    failed = []
    for name in sorted(set(before) & set(after)):
        a, b = pd.read_parquet(before[name]), pd.read_parquet(after[name])
        if name == "backtest_metrics":
            a, b = canonical_metrics(earlier_metrics(before)), canonical_metrics(b)
        equal = a.equals(b)
        if not equal and name in REQUIRED:
            failed.append(name)
        print(f"{'equal' if equal else 'DIFFERENT':9} {name} {a.shape} {b.shape}")
    for name in sorted(set(before) ^ set(after)):
        print(f"{'only in':9} {'before' if name in before else 'after'}: {name}")
    missing = [n for n in REQUIRED if n not in before or n not in after]
    if failed or missing:
        print(f"required tables that differ: {failed}; missing: {missing}")
        return 1
    print(f"the required tables are equal: {', '.join(REQUIRED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
