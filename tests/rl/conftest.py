"""The RL tests' fixtures: a panel on 600 real bars of SP500 and BTC."""

from tests.market_panel import rl_arrays, rl_inputs, rl_panel  # noqa: F401
