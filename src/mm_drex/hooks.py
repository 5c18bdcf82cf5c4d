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
