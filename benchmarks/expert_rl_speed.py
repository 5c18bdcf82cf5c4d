"""Wall time of every node of the expert_rl stage on a data root.

Runs the stage's nodes in pipeline order (the same functions, the catalog's
inputs, the configuration's parameters; outputs are kept in memory, nothing
is written) and prints each node's wall time, the total, the machine load and
the training's val scores. The upstream stages (through router_sft) must have
run on ``--data-root``.

    python benchmarks/expert_rl_speed.py [--data-root data] [--env base]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from mm_drex.pipelines.expert_rl import nodes

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHES = [
    "router_decision_points",
    "router_texts",
    "router_temporal",
    "router_text_embeddings",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--env", default="base")
    args = parser.parse_args()
    bootstrap_project(PROJECT_ROOT)
    session = KedroSession.create(
        project_path=PROJECT_ROOT,
        env=None if args.env == "base" else args.env,
        runtime_params={"data_root": str(Path(args.data_root).resolve())},
    )
    context = session.load_context()
    catalog, params = context.catalog, context.params
    rl, backtest = params["expert_rl"], params["backtest"]
    data = {
        name: catalog.load(name)
        for name in (
            "router_weights",
            "router_states",
            "router_ablation_predictions",
            "expert_exposures",
            "ohlcv",
            "instruments",
            "split",
            "chart_index",
            "regimes",
            "expert_pools",
        )
    }
    timings: dict[str, float] = {}

    def timed(name, func, *inputs):
        start = time.perf_counter()
        out = func(*inputs)
        timings[name] = time.perf_counter() - start
        print(f"{name:40s} {timings[name]:7.1f} s", flush=True)
        return out

    load = os.getloadavg()
    no_chart = timed(
        "no_chart_router_weights",
        nodes.no_chart_router_weights,
        data.pop("router_ablation_predictions"),
        *[catalog.load(name) for name in CACHES],
        params["features"]["indicators"],
        params["router_sft"],
        rl,
    )
    panel = timed(
        "build_rl_panel",
        nodes.build_rl_panel,
        data["router_weights"],
        data["router_states"],
        no_chart,
        *[data[k] for k in list(data)[2:]],
        params["experts"],
        backtest,
    )
    instruments = data["instruments"]
    policy, config, log, selection = timed(
        "train_rl_policies", nodes.train_rl_policies, panel, instruments, rl, backtest
    )
    comparison = timed(
        "compare_trained_random_sft_policies",
        nodes.compare_policies,
        panel,
        instruments,
        policy,
        config,
        rl,
        backtest,
    )
    exposures, routing, choices = timed(
        "mmdrex_and_ablation_exposures",
        nodes.strategy_exposures,
        panel,
        instruments,
        policy,
        config,
        rl,
        backtest,
    )
    positions = timed(
        "execute_mmdrex_exposures",
        nodes.mmdrex_positions,
        exposures,
        data["ohlcv"],
        instruments,
        data["split"],
        backtest,
    )
    markets = timed(
        "mmdrex_market_portfolios",
        nodes.mmdrex_markets,
        positions,
        instruments,
        backtest,
    )
    metrics = timed(
        "mmdrex_performance_metrics",
        nodes.mmdrex_metrics,
        positions,
        markets,
        instruments,
        backtest,
    )
    timed(
        "mmdrex_decision_log", nodes.mmdrex_decision_log, panel, routing, positions, rl
    )
    timed(
        "mmdrex_report",
        nodes.mmdrex_report,
        metrics,
        positions,
        data["regimes"],
        instruments,
        comparison,
        selection,
        choices,
        config,
        rl,
        backtest,
    )
    print(f"{'total':40s} {sum(timings.values()):7.1f} s")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}; decision points {len(panel)}; "
        f"seeds {config['seeds']}; iterations {config['ppo']['iterations']}; "
        f"grid entries {len(selection)}"
    )
    print(selection.to_string(index=False))


if __name__ == "__main__":
    main()
