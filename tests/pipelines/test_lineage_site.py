"""`kedro viz build` makes a static lineage site that a headless Chromium can
open, and every stage's pipeline is drawn in it."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow  # builds the kedro-viz site of every pipeline

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--window-size=3000,2000",
    "--virtual-time-budget=30000",
]


def _build_site(folder: Path, data_root: Path) -> Path:
    """What `kedro viz build` does (load the project, deploy locally), with
    the build folder in ``folder``."""
    bootstrap_project(PROJECT_ROOT)
    from kedro_viz.integrations.deployment.deployer_factory import DeployerFactory
    from kedro_viz.server import load_and_populate_data

    load_and_populate_data(
        PROJECT_ROOT, env="test", extra_params={"data_root": str(data_root)}
    )
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        DeployerFactory.create_deployer("local").deploy(False)
    finally:
        os.chdir(cwd)
    return folder / "build"


def _drawn_labels(
    site: Path, profile: Path, expected: set[str], attempts: int = 3
) -> set[str]:
    """Labels of the SVG flowchart in the DOM that headless Chromium renders.

    The flowchart is laid out asynchronously after the API JSON is fetched; on
    a loaded machine the DOM may be dumped before it is drawn, so the page is
    loaded again (fresh profile) until every ``expected`` label is drawn."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(site)
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian package `chromium` is needed (apt-get install chromium)"
    labels: set[str] = set()
    try:
        for attempt in range(attempts):
            result = subprocess.run(
                [
                    browser,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}-{attempt}",
                    "--dump-dom",
                    f"http://127.0.0.1:{server.server_port}/",
                ],
                capture_output=True,
                text=True,
                timeout=240,
                check=True,
            )
            labels = set(re.findall(r"<text[^>]*>([^<]+)</text>", result.stdout))
            if expected <= labels:
                break
    finally:
        server.shutdown()
    return labels


def test_lineage_site_draws_the_walk_forward_pipeline_with_folds_collapsed(
    tmp_path, monkeypatch
):
    from kedro.framework.project import pipelines

    # kedro-viz builds the pipelines before any run context exists: the folds
    # come from the environment named by KEDRO_ENV (here and in the site)
    monkeypatch.setenv("KEDRO_ENV", "test")
    site = _build_site(tmp_path, tmp_path / "data")
    bootstrap_project(PROJECT_ROOT)
    default = pipelines["__default__"]
    folds = sorted({n.namespace.split(".")[0] for n in default.nodes if n.namespace})
    assert folds == ["fold_2012", "fold_2018"]  # the test configuration's folds
    # the shared stages and the out-of-sample record are drawn node by node,
    # each fold as one collapsed namespace
    shared = {n.name for n in default.nodes if not n.namespace}
    assert {"ingest_and_validate", "chain_fold_test_windows"} <= shared
    expected = shared | set(folds)
    drawn_labels = _drawn_labels(site, tmp_path / "chromium-profile", expected)
    assert drawn_labels, "the lineage site drew no graph in headless Chromium"
    missing = sorted(expected - drawn_labels)
    assert not missing, f"not drawn: {missing}"
    # no node of a fold is drawn outside its collapsed namespace
    inner = {n.name for n in default.nodes if n.namespace} - default.datasets()
    assert not inner & drawn_labels
