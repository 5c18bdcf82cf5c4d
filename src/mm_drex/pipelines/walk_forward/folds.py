"""Which folds the walk-forward pipeline builds: one per test year of
``ingestion.walk_forward.test_years`` in the run's configuration.

Kedro registers pipelines before a node runs, so the fold names are read from
the parameters of the run's context (:class:`mm_drex.hooks.FoldHooks`), or,
outside a session, from ``conf/`` with the environment of ``KEDRO_ENV``
(default ``local``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mm_drex.data.folds import yearly_windows
from mm_drex.data.settings import WalkForwardSettings

_configured: list[str] | None = None


def names_from_params(params: dict[str, Any]) -> list[str]:
    """Fold names (``fold_<year>``) of a run's parameters."""
    settings = WalkForwardSettings.from_params(
        (params.get("ingestion") or {}).get("walk_forward")
    )
    if not settings.test_years:
        return []
    return [w.name for w in yearly_windows(settings.test_years, settings.val_years)]


def configure(names: list[str]) -> bool:
    """Set the fold names of the next registration; True when they changed."""
    global _configured
    changed = names != _configured
    _configured = list(names)
    return changed


def fold_names() -> list[str]:
    """The fold names of the current run (see the module docstring)."""
    if _configured is not None:
        return list(_configured)
    from kedro.framework.project import settings

    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(Path.cwd() / settings.CONF_SOURCE),
        env=os.environ.get("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )
    return names_from_params(loader["parameters"])
