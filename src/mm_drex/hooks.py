"""Project hooks: the walk-forward folds follow the run's parameters."""

from __future__ import annotations

from kedro.framework import project
from kedro.framework.hooks import hook_impl


class FoldHooks:
    """Before Kedro reads the pipelines of a run, give the walk-forward
    pipeline the fold names of that run's parameters (its environment and
    ``--params``), and rebuild the pipelines when they changed."""

    @hook_impl
    def after_context_created(self, context) -> None:
        from mm_drex.pipelines.walk_forward import folds

        if folds.configure(folds.names_from_params(context.params)):
            project.pipelines.configure(f"{project.PACKAGE_NAME}.pipeline_registry")


class DaskHooks:
    """Give :class:`mm_drex.pipelines.runner.DaskRunner` the run's ``dask`` configuration
    (``conf/<env>/dask.yml``), whatever runner the run then uses."""

    @hook_impl
    def after_context_created(self, context) -> None:
        from kedro.config import MissingConfigException

        from mm_drex import scaleout

        try:
            values = context.config_loader["dask"]
        except (KeyError, MissingConfigException):
            values = {}
        scaleout.configure(values)


ARTIFACT = "mlflow_artifact"
METRICS = "mlflow_metrics"


class TrackingHooks:
    """Log what the catalog marks for the tracking store, on the driver once
    the pipeline has run, whatever the runner: the workers of the parallel and
    Dask runners never talk to the tracking store.

    - ``metadata: {mlflow_artifact: true}``: the dataset's file, as an artifact;
    - ``metadata: {mlflow_metrics: true}``: a JSON dataset of
      ``{name: {"value": v, "step": s}}``, as the metrics ``<dataset>.<name>``.

    Runs before kedro-mlflow's own ``after_pipeline_run``, which ends the
    mlflow run."""

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, pipeline, catalog) -> None:
        import mlflow
        from kedro.io.core import get_filepath_str

        if mlflow.active_run() is None:
            return
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            marks = getattr(dataset, "metadata", None) or {}
            if not (marks.get(ARTIFACT) or marks.get(METRICS)):
                continue
            path = get_filepath_str(dataset._filepath, dataset._protocol)
            if not dataset._fs.exists(path):
                continue
            if marks.get(ARTIFACT):
                mlflow.log_artifact(path)
            if marks.get(METRICS):
                steps: dict[int, dict[str, float]] = {}
                for key, point in dataset.load().items():
                    steps.setdefault(int(point.get("step", 0)), {})[f"{name}.{key}"] = (
                        float(point["value"])
                    )
                for step, values in sorted(steps.items()):
                    mlflow.log_metrics(values, step=step)
