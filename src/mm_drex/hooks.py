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
    """Give :class:`mm_drex.runner.DaskRunner` the run's ``dask`` configuration
    (``conf/<env>/dask.yml``), whatever runner the run then uses."""

    @hook_impl
    def after_context_created(self, context) -> None:
        from kedro.config import MissingConfigException

        from mm_drex import runner

        try:
            values = context.config_loader["dask"]
        except (KeyError, MissingConfigException):
            values = {}
        runner.configure(values)


ARTIFACT = "mlflow_artifact"


class TrackingHooks:
    """Log the files of the catalog entries marked ``metadata: {mlflow_artifact:
    true}`` as artifacts of the run's mlflow run, on the driver once the
    pipeline has run, whatever the runner: the workers of the parallel and
    Dask runners never talk to the tracking store. Runs before kedro-mlflow's
    own ``after_pipeline_run``, which ends the mlflow run."""

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, pipeline, catalog) -> None:
        import mlflow
        from kedro.io.core import get_filepath_str

        if mlflow.active_run() is None:
            return
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            if not (getattr(dataset, "metadata", None) or {}).get(ARTIFACT):
                continue
            path = get_filepath_str(dataset._filepath, dataset._protocol)
            if dataset._fs.exists(path):
                mlflow.log_artifact(path)
