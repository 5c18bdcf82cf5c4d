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


def test_lineage_site_draws_every_stage_pipeline(tmp_path):
    from kedro.framework.project import pipelines

    site = _build_site(tmp_path, tmp_path / "data")
    bootstrap_project(PROJECT_ROOT)
    stages = {name: p for name, p in pipelines.items() if name != "__default__"}
    assert {"ingestion", "reporting", "explain"} <= set(stages)
    expected = {node.name for p in stages.values() for node in p.nodes}
    drawn_labels = _drawn_labels(site, tmp_path / "chromium-profile", expected)
    assert drawn_labels, "the lineage site drew no graph in headless Chromium"
    for stage, pipeline in stages.items():
        missing = sorted({node.name for node in pipeline.nodes} - drawn_labels)
        assert not missing, f"nodes of the {stage} pipeline not drawn: {missing}"
