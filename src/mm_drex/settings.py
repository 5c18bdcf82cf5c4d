"""Kedro settings for MM-DREX."""

CONFIG_LOADER_ARGS = {
    # ${add:a,b} in parameters, e.g. min_bars = chart window + label horizon
    "custom_resolvers": {"add": lambda *numbers: sum(numbers)},
    "base_env": "base",
    "default_run_env": "local",
    # conf/test and conf/local override single keys, not whole stage sections
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
    "config_patterns": {
        # one catalog and one parameters file per stage: catalog_<stage>.yml
        "catalog": ["catalog*", "catalog*/**", "**/catalog*"],
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
        "globals": ["globals.yml"],
        # where the Dask runner runs (mm_drex.scaleout, mm_drex.pipelines.runner)
        "dask": ["dask*", "dask*/**"],
    },
}

from mm_drex.hooks import DaskHooks, FoldHooks, TrackingHooks  # noqa: E402

HOOKS = (FoldHooks(), DaskHooks(), TrackingHooks())
