"""Speed of the compact router on the CPU: training samples/s, batched
decisions/s and single-decision latency, at the default configuration.

The router is built from ``conf/base/parameters_router_sft.yml`` (image size,
LoRA split, widths) with the real pretrained towers. A *decision* is the whole
path from a raw uint8 chart, a text view and a temporal feature sequence to
regime probabilities and expert weights: image trunk + LoRA top, text
projection, GRU, fusion, heads. Two text cases are timed: the text view's
embedding already cached (the text view repeats: about 2,400 distinct texts
for 30,000 decision points on the default universe) and a text never seen
before (MiniLM runs for it). Speed does not depend on pixel or feature values,
so inputs are random with the real shapes; the text is a real text view.

Training samples/s is the SFT step as the pipeline runs it (frozen trunk
cached, forward + backward through the LoRA top, the heads and the GRU), and,
for reference, the same step from raw charts (trunk not cached).

    python benchmarks/router_speed.py [--threads 2] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from mm_drex.features.temporal import FEATURE_COLUMNS  # noqa: E402
from mm_drex.router import (
    CompactBackend,
    RuntimeConfig,
    configure_torch,
)  # noqa: E402
from mm_drex.router.model import router_loss  # noqa: E402
from mm_drex.router.settings import RouterSettings

ROOT = Path(__file__).resolve().parents[1]
TEXT = (
    "Over the last 100 bars the price rose; over the last 20 bars it moved sideways. "
    "Volatility is normal for this market. The moving averages are in bullish order. "
    "RSI is neutral, MACD is above its signal line, KDJ is neutral. The price is closer "
    "to resistance. Volume is near its 20-bar average."
)


def rate(function, items: int, seconds: float) -> tuple[float, float]:
    """Items per second of wall time and per second of this process's CPU
    time: repeat ``function`` for at least ``seconds`` after a warm-up. On a
    machine shared with other jobs the CPU-time rate is the one that does not
    depend on the neighbours (with one thread it is the uncontended speed)."""
    function()
    runs, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        function()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return runs * items / elapsed, runs * items / (
                time.process_time() - cpu_start
            )


def latency_ms(function, repeats: int) -> tuple[float, float]:
    """Median milliseconds of one call, wall and CPU time, after a warm-up."""
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="minimum timing per figure"
    )
    parser.add_argument(
        "--batch", type=int, default=32, help="decisions per inference batch"
    )
    parser.add_argument(
        "--repeats", type=int, default=50, help="single-decision timings"
    )
    args = parser.parse_args()

    settings = RouterSettings.from_params(
        yaml.safe_load((ROOT / "conf/base/parameters_router_sft.yml").read_text())[
            "router_sft"
        ]
    )
    steps, batch_size = settings.temporal.steps, settings.training.batch_size
    runtime = RuntimeConfig(
        seed=0, num_threads=args.threads, device="cpu", precision="fp32"
    )
    configure_torch(runtime)
    config = settings.compact.router_config(len(FEATURE_COLUMNS), steps)
    backend = CompactBackend(
        config, runtime, text_max_tokens=settings.compact.text_max_tokens
    )
    model = backend.model
    size = config.image_size
    rng = np.random.default_rng(0)

    def batch(n: int):
        charts = torch.from_numpy(
            rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)
        )
        temporal = torch.from_numpy(
            rng.normal(size=(n, steps, config.n_features)).astype(np.float32)
        )
        return charts, temporal

    text_embedding = torch.from_numpy(backend.embed_texts([TEXT]))
    print(
        f"compact router, {size}x{size} charts, {steps}x{config.n_features} temporal, "
        f"LoRA from block {config.lora_from_block}, torch {torch.__version__}, "
        f"{args.threads} threads on {os.cpu_count()} cores ({platform.processor() or platform.machine()})"
    )

    # ---- training -----------------------------------------------------------
    charts, temporal = batch(batch_size)
    texts = text_embedding.expand(batch_size, -1)
    labels = torch.from_numpy(rng.integers(0, 3, batch_size))
    soft = torch.from_numpy(rng.dirichlet(np.ones(4), batch_size).astype(np.float32))
    trunk = model.image_tower.trunk(charts)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3
    )

    def train_step(**views):
        model.train()
        out = model(text_embeddings=texts, temporal=temporal, **views)
        loss, _ = router_loss(out.regime_logits, out.weights, labels, soft, 0.5)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def show(label: str, rates: tuple[float, float], unit: str) -> None:
        print(
            f"{label:<52} {rates[0]:8.0f} {unit}/s wall, {rates[1]:8.0f} per CPU-second"
        )

    print(f"(load average before the run: {os.getloadavg()[0]:.2f})")
    show(
        f"training, trunk cached (the pipeline's step), batch {batch_size}",
        rate(lambda: train_step(chart_features=trunk), batch_size, args.seconds),
        "samples",
    )
    show(
        "training from raw charts (reference)",
        rate(lambda: train_step(charts=charts), batch_size, args.seconds),
        "samples",
    )
    model.eval()

    # ---- inference ----------------------------------------------------------
    charts, temporal = batch(args.batch)
    many_texts = text_embedding.expand(args.batch, -1)
    fresh_texts = [f"{TEXT} ({i})" for i in range(args.batch)]

    @torch.no_grad()
    def decide(chart, sequence, text_embeddings):
        out = model(charts=chart, temporal=sequence, text_embeddings=text_embeddings)
        return out.regime_probs, out.weights

    def embed(texts):
        return torch.from_numpy(backend.embed_texts(texts))

    show(
        f"decisions, batch {args.batch}, text embedding cached",
        rate(lambda: decide(charts, temporal, many_texts), args.batch, args.seconds),
        "decisions",
    )
    show(
        f"decisions, batch {args.batch}, every text new",
        rate(
            lambda: decide(charts, temporal, embed(fresh_texts)),
            args.batch,
            args.seconds,
        ),
        "decisions",
    )
    show(
        "  image trunk alone (cache fill)",
        rate(lambda: model.image_tower.trunk(charts), args.batch, args.seconds),
        "charts",
    )
    show(
        "  MiniLM alone (distinct texts)",
        rate(lambda: backend.embed_texts(fresh_texts), args.batch, args.seconds),
        "texts",
    )

    one_chart, one_sequence = charts[:1], temporal[:1]
    for label, text in (("text embedding cached", None), ("text new", TEXT + " (new)")):
        wall, cpu = latency_ms(
            lambda text=text: decide(
                one_chart,
                one_sequence,
                text_embedding if text is None else embed([text]),
            ),
            args.repeats,
        )
        print(
            f"single decision, {label:<22} {wall:7.1f} ms wall, {cpu:7.1f} ms CPU "
            f"(median of {args.repeats})"
        )
    print(f"(load average after the run: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
