"""Label horizons and thresholds on the walk-forward folds' validation windows
against the persistence rule (:mod:`mm_drex.regimes.study`).

Reads a data root the default ``kedro run`` has filled (``ohlcv``, the raw
features and every fold's split); never reads a test window. Writes
``label_study.parquet`` (one row per fold and label) and ``label_study.md``.

    python scripts/label_study.py --data-root data --out data/08_reporting/label_study
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

import pandas as pd

from mm_drex.markdown import markdown_table
from mm_drex.regimes.study import label_study, study_summary


def _table(frame: pd.DataFrame) -> str:
    rounded = frame.round(3)
    return markdown_table(rounded.columns, rounded.itertuples(index=False), "l" + "r")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--horizons", type=int, nargs="+", default=[20, 40, 90])
    parser.add_argument("--thetas", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.data_root
    out = args.out or root / "08_reporting/label_study"
    ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
    features = pd.read_parquet(root / "04_feature/features_raw.parquet")
    folds = sorted((root / "02_intermediate/folds").glob("*/split.parquet"))
    if not folds:
        raise SystemExit(
            f"{root / '02_intermediate/folds'}: no fold split; run `kedro run` first"
        )
    splits = {path.parent.name: pd.read_parquet(path) for path in folds}
    start = time.perf_counter()
    tables = []
    for fold, split in splits.items():
        members = ohlcv[ohlcv["instrument"].isin(split["instrument"])]
        tables.append(
            label_study(
                members.reset_index(drop=True),
                features,
                {fold: split},
                args.horizons,
                args.thetas,
                args.seed,
            )
        )
    table = pd.concat(tables, ignore_index=True)
    summary = study_summary(table)
    elapsed = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out / "label_study.parquet", index=False)
    lines = [
        "# Label study: validation macro-F1 against the persistence rule",
        "",
        f"{date.today()}, {platform.platform()}, {elapsed:.0f} s; folds "
        f"{', '.join(splits)}; val windows only.",
        "",
        "## Mean over folds",
        "",
        _table(summary),
        "",
        "## Per fold",
        "",
        _table(table),
        "",
    ]
    (out / "label_study.md").write_text("\n".join(lines))
    print("\n".join(lines[: 8 + len(summary) + 2]))


if __name__ == "__main__":
    main()
