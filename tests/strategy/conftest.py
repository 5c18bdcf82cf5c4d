"""Fixtures: a panel on 600 real bars of SP500 and BTC, the policies trained
on it and the MM-DREX strategy paths."""

from tests.market_panel import (  # noqa: F401
    paths,
    policies,
    rl_arrays,
    rl_inputs,
    rl_panel,
)
