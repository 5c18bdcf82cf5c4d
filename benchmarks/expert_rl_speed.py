"""Wall time of every node of a stage (default: expert_rl) on a data root.

Runs the stage's nodes in pipeline order (the same functions, the catalog's
inputs, the configuration's parameters; outputs are kept in memory, nothing
is written) and prints each node's wall time, the total and the machine
load. The upstream stages must have run on ``--data-root``.

    python benchmarks/expert_rl_speed.py [--data-root data] [--env base] [--pipeline expert_rl]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--env", default="base")
    parser.add_argument("--pipeline", default="expert_rl")
    args = parser.parse_args()
    bootstrap_project(PROJECT_ROOT)
    from mm_drex.pipeline_registry import register_pipelines

    session = KedroSession.create(
        project_path=PROJECT_ROOT,
        env=None if args.env == "base" else args.env,
        runtime_params={"data_root": str(Path(args.data_root).resolve())},
    )
    context = session.load_context()
    catalog, params = context.catalog, context.params
    pipeline = register_pipelines()[args.pipeline]
    memory: dict[str, object] = {}

    def load(name: str) -> object:
        if name.startswith("params:"):
            value: object = params
            for key in name.removeprefix("params:").split("."):
                value = value[key]  # type: ignore[index]
            return value
        return memory[name] if name in memory else catalog.load(name)

    load_average = os.getloadavg()
    timings = {}
    for node in pipeline.nodes:
        inputs = {name: load(name) for name in node.inputs}
        start = time.perf_counter()
        memory.update(node.run(inputs))
        timings[node.name] = time.perf_counter() - start
        print(f"{node.name:40s} {timings[node.name]:7.1f} s", flush=True)
    print(f"{'total':40s} {sum(timings.values()):7.1f} s")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"before {load_average[0]:.1f}, after {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
