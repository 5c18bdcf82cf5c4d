"""Running Kedro nodes as tasks of a Dask cluster (the library half of
:class:`mm_drex.pipelines.runner.DaskRunner`; no Kedro import here).

:class:`DaskConfig` is ``conf/<env>/dask.yml``; :func:`dask_client` connects
to its scheduler or starts a ``LocalCluster``; :func:`run_on_dask` submits
the nodes in dependency order and waits for them (docs/scale-out.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

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


def project_config() -> dict[str, Any]:
    """The run's ``dask`` configuration, as :func:`configure` was given it."""
    return dict(_PROJECT_CONFIG)


def configure(values: Mapping[str, Any] | None) -> None:
    """Remember the run's ``dask`` configuration (called by the project's hook
    when the Kedro context is created, so that ``--env`` is honoured)."""
    _PROJECT_CONFIG.clear()
    _PROJECT_CONFIG.update(values or {})


def run_on_dask(
    config: DaskConfig,
    nodes: Sequence[Any],
    parents: Mapping[Any, Iterable[Any]],
    catalog: Any,
    in_memory: set[str],
    run_id: str | None,
    before_submit: Callable[[Any], None],
    on_done: Callable[[Any], None],
) -> None:
    """Run Kedro ``nodes`` (topologically sorted; ``parents[node]``: the
    nodes it depends on) as tasks of the configured cluster.

    ``catalog`` is sent once to every worker; the outputs named in
    ``in_memory`` travel as task results, the others are saved by the worker
    that produced them. ``before_submit(node)`` runs on the driver before a
    node is submitted, ``on_done(node)`` as each one finishes. A failing node
    cancels the tasks not yet run and its error is raised here.
    """
    from distributed import as_completed

    run = run_id or "run"  # task keys: unique per run, distinct per kind
    with dask_client(config) as client:
        _LOGGER.info("Dask runner: %s", _describe(client))
        shared_catalog = client.scatter(catalog, broadcast=True)
        results: dict[str, Any] = {}  # memory output -> its future
        finished: dict[Any, Any] = {}  # node -> a future done when it is
        futures = {}
        for node in nodes:
            before_submit(node)
            memory_outputs = set(node.outputs) & in_memory
            future = client.submit(
                run_node_task,
                node,
                shared_catalog,
                sorted(memory_outputs),
                {name: results[name] for name in node.inputs if name in results},
                # a catalogued input is read from storage: wait for its writer
                [finished[parent] for parent in parents[node]],
                key=f"node-{node.name}-{run}",
                pure=False,
            )
            futures[future] = node
            for name in memory_outputs:
                results[name] = client.submit(
                    _pick, future, name, key=f"output-{name}-{run}", pure=True
                )
            finished[node] = (
                client.submit(_done, future, key=f"done-{node.name}-{run}")
                if memory_outputs
                else future
            )
        try:
            for future in as_completed(list(futures)):
                future.result()  # raises the node's error
                on_done(futures[future])
        except Exception:
            client.cancel([*futures, *results.values(), *finished.values()])
            raise


def run_node_task(
    node: Any,
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
