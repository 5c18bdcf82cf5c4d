"""Raster renderer vs mplfinance on the same chart windows, per core.

Renders the same decision points of the bundled S&P 500 (100 bars, volume and
two causal moving averages) with mplfinance (PNG at 50 dpi, in memory) and
with the raster renderer (uint8 tensor at the default 64x64, and 128x128),
single-threaded, and prints the throughput of each and their ratio.

    python benchmarks/chart_speed.py [--mpl-charts 30] [--write-samples docs/img]

``--write-samples`` also writes one decision point drawn by both renderers
(``chart_raster.png``, 4x enlarged, and ``chart_mplfinance.png``) to a folder.
"""

from __future__ import annotations

import os

for variable in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[variable] = "1"  # per-core figures
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import mplfinance as mpf  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

from mm_drex.charts.people import render_people_chart, window_frame  # noqa: E402
from mm_drex.charts.raster import RasterStyle, render_windows  # noqa: E402
from mm_drex.charts.store import render_points  # noqa: E402
from mm_drex.charts.windows import chart_series  # noqa: E402
from mm_drex.data.sources import BUNDLED_SOURCES  # noqa: E402
from mm_drex.data.universe import ingest_universe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 100


def load_sp500():
    params = yaml.safe_load((ROOT / "conf/base/parameters_ingestion.yml").read_text())[
        "ingestion"
    ]
    params["universe"] = {"SP500": params["universe"]["SP500"]}
    params["validation"]["min_bars"] = WINDOW  # the interpolations, resolved
    params["split"]["purge_bars"] = 0
    ohlcv, _, _ = ingest_universe(params, BUNDLED_SOURCES, {})
    return ohlcv


def mplfinance_png(frame, ma_fast, ma_slow) -> bytes:
    """The reference chart: candles, volume, two MAs, PNG at 50 dpi."""
    plots = [mpf.make_addplot(ma_fast, width=1.0), mpf.make_addplot(ma_slow, width=1.0)]
    figure, _ = mpf.plot(
        frame,
        type="candle",
        volume=True,
        addplot=plots,
        returnfig=True,
        warn_too_much_data=WINDOW + 1,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=50)
    plt.close(figure)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mpl-charts", type=int, default=30, help="windows drawn by mplfinance"
    )
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="minimum raster timing per size"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--write-samples", type=Path, default=None, help="folder for the sample PNGs"
    )
    args = parser.parse_args()
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    ohlcv = load_sp500()
    series = chart_series(ohlcv)
    timestamps = ohlcv["timestamp"].to_numpy()
    rng = np.random.default_rng(args.seed)
    points = np.sort(
        rng.choice(np.arange(WINDOW - 1, len(ohlcv)), args.mpl_charts, replace=False)
    )
    instruments = ["SP500"] * len(points)
    windows = series.windows(instruments, points, WINDOW)

    mplfinance_png(
        window_frame({k: v[0] for k, v in windows.items()}, timestamps[:WINDOW]),
        windows["ma_fast"][0],
        windows["ma_slow"][0],
    )  # warm-up
    start = time.perf_counter()
    for i, t in enumerate(points):
        frame = window_frame(
            {k: v[i] for k, v in windows.items()}, timestamps[t - WINDOW + 1 : t + 1]
        )
        mplfinance_png(frame, windows["ma_fast"][i], windows["ma_slow"][i])
    mpl_rate = len(points) / (time.perf_counter() - start)

    print(f"S&P 500, {len(points)} decision points of {WINDOW} bars, 1 thread")
    print(
        f"mplfinance (candles + volume + 2 MAs, PNG @ 50 dpi): {mpl_rate:8.2f} charts/s"
    )
    for height, width in ((64, 64), (128, 128)):
        style = RasterStyle(height=height, width=width)
        # The same windows, repeated until the timing is long enough.
        repeats = max(1, int(256 / len(points)))
        batch = {k: np.tile(v, (repeats, 1)) for k, v in windows.items()}
        render_windows(batch, style)
        rendered, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            render_windows(batch, style)
            rendered += len(batch["open"])
        rate = rendered / (time.perf_counter() - start)
        print(
            f"raster {height}x{width} uint8 tensor (+ RSI panel):      {rate:10.0f} charts/s"
            f"   ratio {rate / mpl_rate:8.0f}x"
        )

    if args.write_samples is not None:
        folder = args.write_samples
        folder.mkdir(parents=True, exist_ok=True)
        t = int(points[len(points) // 2])
        raster = render_points(series, ["SP500"], [t], WINDOW, RasterStyle())[
            0
        ].transpose(1, 2, 0)
        plt.imsave(
            folder / "chart_raster.png",
            np.kron(raster, np.ones((4, 4, 1), dtype=np.uint8)),
        )
        window = {k: v[0] for k, v in series.windows(["SP500"], [t], WINDOW).items()}
        figure = render_people_chart(
            window,
            timestamps[t - WINDOW + 1 : t + 1],
            f"SP500 {str(timestamps[t])[:10]}",
            indicator="rsi",
            figsize=(7, 5),
        )
        figure.savefig(folder / "chart_mplfinance.png", dpi=60)
        plt.close(figure)
        print(
            f"samples written to {folder}/chart_raster.png and chart_mplfinance.png (t={t})"
        )


if __name__ == "__main__":
    main()
