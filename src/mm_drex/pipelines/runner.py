"""``DaskRunner``: the project's pipelines on a Dask cluster.

``kedro run --runner mm_drex.pipelines.runner.DaskRunner`` runs every node as one
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

from typing import Any

from kedro.io import MemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner

from mm_drex.scaleout import DaskConfig, project_config, run_on_dask


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
            {**project_config(), **self._overrides},
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
        nodes = pipeline.nodes
        in_memory = {
            name
            for name in pipeline.all_outputs()
            if isinstance(
                catalog.get(name, fallback_to_runtime_pattern=True), MemoryDataset
            )
        }
        done: set[Node] = set()

        def finished(node: Node) -> None:
            done.add(node)
            self._logger.info("Completed node: %s", node.name)
            self._logger.info("Completed %d out of %d tasks", len(done), len(nodes))

        try:
            run_on_dask(
                self.config,
                nodes,
                pipeline.node_dependencies,
                catalog,
                in_memory,
                run_id,
                lambda node: _driver_node_hook(
                    hook_manager, node, catalog, self._is_async, run_id
                ),
                finished,
            )
        except Exception:
            self._suggest_resume_scenario(pipeline, done, catalog)
            raise


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
