"""``DaskRunner``: the project's pipelines on a Dask cluster.

``kedro run --runner mm_drex.runner.DaskRunner`` runs every node as one
``dask.distributed`` task, in the order of the pipeline's dependencies, so
that independent nodes (the walk-forward folds, the stages of one fold that do
not read each other) run at the same time on different workers. It follows the
runner pattern of Kedro's deployment guide ("Dask"), with two changes:

- **Memory datasets travel as task results.** A node's output that has no
  catalog entry (a ``MemoryDataset``) is returned by its task and handed to the
  tasks that read it, worker to worker; the driver never holds it. Outputs with
  a catalog entry are saved by the worker, so on a real cluster the data root
  must be storage every worker reaches (a shared disk or an fsspec URL).
- **Tracking stays on the driver.** Workers run nodes without hooks (no
  project or plugin hook is registered in a worker, as with Kedro's
  ``ParallelRunner``). On the driver, ``before_node_run`` is called once per
  node, before it is submitted, with the node's parameters as its inputs: that
  is where kedro-mlflow logs them. Pipeline hooks run on the driver as usual.

Where it runs (``conf/base/dask.yml``, or ``--runner-params``, which win):

``scheduler_address``
    of an existing cluster (``tcp://host:8786``); null starts a
    :class:`distributed.LocalCluster` for the run and stops it afterwards,
``n_workers``, ``threads_per_worker``, ``memory_limit``
    of that local cluster. Each worker process gets ``OMP_NUM_THREADS`` (and
    the MKL / OpenBLAS equivalents) equal to its threads, so that two workers
    on two cores do not each start two BLAS threads. The nodes that set torch
    threads from the parameters (``router_sft.num_threads``,
    ``expert_rl.num_threads``, ...) keep them: the same parameters give the same
    numbers under every runner.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from kedro.io import MemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner

_LOGGER = logging.getLogger(__name__)
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
# The nodes are long, GIL-holding Python tasks: the workers' statistical
# profiler (a stack sample every 10 ms) and Dask's default of trimming freed
# memory back to the system after every 64 KiB (MALLOC_TRIM_THRESHOLD_) cost
# them CPU and buy nothing here.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


@dataclass(frozen=True)
class DaskConfig:
    """Where the Dask runner runs (the keys of ``conf/<env>/dask.yml``)."""

    scheduler_address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str | int | None = "auto"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str) -> DaskConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"{source}: unknown keys {unknown}; the known keys are {sorted(known)}"
            )
        config = cls(**dict(values))
        for name in ("n_workers", "threads_per_worker"):
            value = getattr(config, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"{source}: {name} = {value!r}: must be an integer of at least 1"
                )
        return config


_PROJECT_CONFIG: dict[str, Any] = {}


def configure(values: Mapping[str, Any] | None) -> None:
    """Remember the run's ``dask`` configuration (called by the project's hook
    when the Kedro context is created, so that ``--env`` is honoured)."""
    _PROJECT_CONFIG.clear()
    _PROJECT_CONFIG.update(values or {})


class DaskRunner(AbstractRunner):
    """Run a pipeline on a Dask cluster (see the module docstring)."""

    def __init__(
        self,
        is_async: bool = False,
        scheduler_address: str | None = None,
        n_workers: int | None = None,
        threads_per_worker: int | None = None,
        memory_limit: str | int | None = None,
    ):
        super().__init__(is_async=is_async)
        self._overrides = {
            k: v
            for k, v in {
                "scheduler_address": scheduler_address,
                "n_workers": n_workers,
                "threads_per_worker": threads_per_worker,
                "memory_limit": memory_limit,
            }.items()
            if v is not None
        }

    @property
    def config(self) -> DaskConfig:
        """``conf/<env>/dask.yml`` with the runner's arguments on top."""
        return DaskConfig.from_mapping(
            {**_PROJECT_CONFIG, **self._overrides},
            "dask.yml of the run's environment, with --runner-params on top",
        )

    def _get_executor(self, max_workers: int) -> None:
        return None  # tasks go to the Dask client, not to an executor

    def _run(
        self,
        pipeline: Pipeline,
        catalog: Any,
        hook_manager: Any = None,
        run_id: str | None = None,
    ) -> None:
        from distributed import as_completed

        nodes = pipeline.nodes
        produced = {name for n in nodes for name in n.outputs}
        in_memory = {
            name
            for name in produced
            if isinstance(
                catalog.get(name, fallback_to_runtime_pattern=True), MemoryDataset
            )
        }
        parents = pipeline.node_dependencies
        run = run_id or "run"  # task keys: unique per run, distinct per kind
        with dask_client(self.config) as client:
            _LOGGER.info("Dask runner: %s", _describe(client))
            shared_catalog = client.scatter(catalog, broadcast=True)
            results: dict[str, Any] = {}  # memory output -> its future
            finished: dict[Node, Any] = {}  # node -> a future done when it is
            futures = {}
            for node in nodes:  # topologically sorted
                _driver_node_hook(hook_manager, node, catalog, self._is_async, run_id)
                memory_inputs = {
                    name: results[name] for name in node.inputs if name in results
                }
                future = client.submit(
                    run_node_task,
                    node,
                    shared_catalog,
                    sorted(set(node.outputs) & in_memory),
                    memory_inputs,
                    # a catalogued input is read from storage: wait for its writer
                    [finished[parent] for parent in parents[node]],
                    key=f"node-{node.name}-{run}",
                    pure=False,
                )
                futures[future] = node
                memory_outputs = set(node.outputs) & in_memory
                for name in memory_outputs:
                    results[name] = client.submit(
                        _pick, future, name, key=f"output-{name}-{run}", pure=True
                    )
                finished[node] = (
                    client.submit(_done, future, key=f"done-{node.name}-{run}")
                    if memory_outputs
                    else future
                )
            done: set[Node] = set()
            try:
                for future in as_completed(list(futures)):
                    node = futures[future]
                    future.result()  # raises the node's error
                    done.add(node)
                    self._logger.info("Completed node: %s", node.name)
                    self._logger.info(
                        "Completed %d out of %d tasks", len(done), len(nodes)
                    )
            except Exception:
                client.cancel([*futures, *results.values(), *finished.values()])
                self._suggest_resume_scenario(pipeline, done, catalog)
                raise


def run_node_task(
    node: Node,
    catalog: Any,
    memory_outputs: list[str],
    memory_inputs: Mapping[str, Any],
    after: list[Any],
) -> dict[str, Any]:
    """Run ``node`` in a worker, once the nodes in ``after`` have run: load its
    inputs (memory inputs arrive as arguments), save its catalogued outputs,
    return the ones in memory."""
    inputs = {
        name: memory_inputs[name] if name in memory_inputs else catalog.load(name)
        for name in node.inputs
    }
    outputs = node.run(inputs)
    for name, data in outputs.items():
        if name not in memory_outputs:
            catalog.save(name, data)
    for name in node.confirms:
        catalog.confirm(name)
    return {name: outputs[name] for name in memory_outputs}


def _pick(outputs: Mapping[str, Any], name: str) -> Any:
    return outputs[name]


def _done(outputs: Mapping[str, Any]) -> None:
    return None


def _driver_node_hook(
    hook_manager: Any, node: Node, catalog: Any, is_async: bool, run_id: str | None
) -> None:
    if hook_manager is None:
        return
    inputs = {
        name: catalog.load(name)
        for name in node.inputs
        if name == "parameters" or name.startswith("params:")
    }
    hook_manager.hook.before_node_run(
        node=node, catalog=catalog, inputs=inputs, is_async=is_async, run_id=run_id
    )


@contextmanager
def dask_client(config: DaskConfig) -> Iterator[Any]:
    """A client of the configured scheduler, or of a ``LocalCluster`` started
    here and stopped on exit (also when the run fails)."""
    from distributed import Client, LocalCluster

    if config.scheduler_address:
        with Client(config.scheduler_address) as client:
            yield client
        return
    import dask

    threads = str(config.threads_per_worker)
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the cluster's own start and stop messages
    try:
        with (
            dask.config.set(LOCAL_WORKER_CONFIG),
            dask.config.set(
                {
                    # set before the worker process starts, so that numpy and
                    # torch see them when they are imported
                    "distributed.nanny.pre-spawn-environ": dict.fromkeys(
                        _THREAD_VARIABLES, threads
                    )
                }
            ),
            LocalCluster(
                n_workers=config.n_workers,
                threads_per_worker=config.threads_per_worker,
                memory_limit=config.memory_limit,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
                env=dict.fromkeys(_THREAD_VARIABLES, threads),
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    finally:
        quiet.setLevel(level)


def _describe(client: Any) -> str:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    return f"{info.get('address', '?')}, {len(workers)} workers, {threads} threads"
