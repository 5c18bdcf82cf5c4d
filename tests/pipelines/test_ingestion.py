"""The ingestion stage through Kedro: outputs written, and left intact on bad input."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from mm_drex.data.sources import BUNDLED_SOURCES
from tests.conftest import PROJECT_ROOT, run_kedro_pipeline

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline

OUTPUTS = [
    "02_intermediate/ohlcv.parquet",
    "02_intermediate/instruments.parquet",
    "02_intermediate/split.parquet",
    "08_reporting/data_quality.parquet",
]


def test_ingestion_writes_all_ten_instruments(ingested_root):
    for output in OUTPUTS:
        assert (ingested_root / output).exists(), output
    instruments = pd.read_parquet(ingested_root / OUTPUTS[1])
    assert len(instruments) == 10
    ohlcv = pd.read_parquet(ingested_root / OUTPUTS[0])
    # the test configuration keeps the last 800 bars of every instrument
    assert ohlcv.groupby("instrument").size().eq(800).all()
    split = pd.read_parquet(ingested_root / OUTPUTS[2])
    assert set(split["segment"]) == {"train", "val", "test"}
    assert len(split) == 30


def test_split_is_60_20_20_with_label_horizon_purged(ingested_root):
    split = pd.read_parquet(ingested_root / OUTPUTS[2]).set_index(
        ["instrument", "segment"]
    )
    sp500 = split.loc["SP500"]
    # the purge is the label horizon of globals.yml (20 since the label study)
    purge = yaml.safe_load((PROJECT_ROOT / "conf/base/globals.yml").read_text())[
        "label_horizon"
    ]
    # 800 bars: boundaries at 480 and 640, `purge` bars purged before each
    assert sp500.loc["train", ["start_idx", "end_idx"]].tolist() == [0, 480 - purge]
    assert sp500.loc["val", ["start_idx", "end_idx"]].tolist() == [480, 640 - purge]
    assert sp500.loc["test", ["start_idx", "end_idx"]].tolist() == [640, 800]
    assert (split["purge_bars"] == purge).all()


def test_bad_user_file_stops_the_run_and_keeps_earlier_outputs(tmp_path, ingested_root):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    before = {name: (root / name).read_bytes() for name in OUTPUTS}
    bars = BUNDLED_SOURCES["arch/sp500"]().iloc[:300].copy()
    bars.iloc[100, bars.columns.get_loc("High")] = bars["Low"].iloc[100] - 1.0
    (root / "01_raw" / "user").mkdir(parents=True, exist_ok=True)
    bars.to_csv(root / "01_raw" / "user" / "bad.csv")

    with pytest.raises(Exception, match=r"bad\.csv: instrument BAD: high below"):
        run_kedro_pipeline(
            "ingestion",
            root,
            extra_params={
                "ingestion": {
                    "universe": {
                        "BAD": {"asset_class": "index", "source": "user/bad.csv"}
                    },
                    "instruments": ["SP500", "BAD"],
                    "user_data_folder": str(root / "01_raw" / "user"),
                }
            },
        )
    after = {name: (root / name).read_bytes() for name in OUTPUTS}
    assert after == before
