"""The Dask runner's configuration (``conf/<env>/dask.yml`` and
``--runner-params``); its runs are tested in
``tests/pipelines/test_walk_forward.py``."""

from __future__ import annotations

import pytest
import yaml

from mm_drex import scaleout
from mm_drex.pipelines.runner import DaskRunner
from mm_drex.scaleout import DaskConfig
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def project_config():
    values = yaml.safe_load((PROJECT_ROOT / "conf/base/dask.yml").read_text())
    scaleout.configure(values)
    yield values
    scaleout.configure({})


def test_the_base_configuration_starts_two_single_threaded_local_workers(
    project_config,
):
    config = DaskRunner().config
    assert config == DaskConfig(
        scheduler_address=None, n_workers=2, threads_per_worker=1, memory_limit="auto"
    )


def test_runner_params_win_over_the_configuration(project_config):
    config = DaskRunner(n_workers=4, scheduler_address="tcp://scheduler:8786").config
    assert (config.n_workers, config.scheduler_address) == (4, "tcp://scheduler:8786")
    assert config.threads_per_worker == project_config["threads_per_worker"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"n_worker": 2}, "unknown keys ['n_worker']"),
        ({"n_workers": 0}, "n_workers = 0: must be an integer of at least 1"),
        ({"threads_per_worker": "two"}, "threads_per_worker = 'two'"),
    ],
)
def test_a_bad_configuration_is_refused_with_the_key_and_value(values, message):
    scaleout.configure(values)
    try:
        with pytest.raises(ValueError, match=r"dask\.yml") as error:
            _ = DaskRunner().config
    finally:
        scaleout.configure({})
    assert message in str(error.value)
