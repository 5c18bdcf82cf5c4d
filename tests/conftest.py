"""Shared test helpers: a Kedro session on the `test` configuration."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_kedro_pipeline(
    pipeline_name: str | list[str],
    data_root: Path,
    extra_params: dict[str, Any] | None = None,
    env: str = "test",
    **run_options: Any,
) -> dict[str, Any]:
    """Run one registered pipeline (or a list of them, as one run) of the
    project with its data under ``data_root``.

    ``run_options`` go to ``KedroSession.run`` (e.g. ``node_names=[...]``).
    """
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    runtime_params = {"data_root": str(data_root), **(extra_params or {})}
    with KedroSession.create(
        project_path=PROJECT_ROOT, env=env, runtime_params=runtime_params
    ) as session:
        if isinstance(pipeline_name, list):
            return session.run(pipeline_names=pipeline_name, **run_options)
        return session.run(pipeline_name=pipeline_name, **run_options)


@pytest.fixture
def kedro_runner() -> Callable[..., dict[str, Any]]:
    """``kedro_runner("ingestion", tmp_path)`` runs a stage on the test config."""
    return run_kedro_pipeline


@pytest.fixture(scope="session")
def ingested_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root where the ingestion stage has run once on the test config.

    Stage tests copy from it or read it; they must not write into it.
    """
    root = tmp_path_factory.mktemp("ingested")
    run_kedro_pipeline("ingestion", root)
    return root
