"""Per-expert attribution: sign-specific credit of the executed exposure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_drex.experts.templates import EXPERTS
from mm_drex.reporting.attribution import credit_shares, expert_attribution


def test_credit_goes_only_to_experts_on_the_held_side():
    weights = np.array([[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25]])
    exposures = np.array([[1.0, -1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    shares = credit_shares(weights, exposures, np.array([0.4, 0.0]))
    # long held: trend (0.5) and breakout (0.2) share it, reversal gets nothing
    assert np.allclose(shares[0], [0.5 / 0.7, 0.0, 0.2 / 0.7, 0.0, 0.0])
    # flat: nothing to credit, unattributed
    assert np.allclose(shares[1], [0, 0, 0, 0, 1.0])


def test_attribution_without_decision_log_rows_is_empty():
    empty = pd.DataFrame(
        columns=[
            "strategy",
            "seed",
            "instrument",
            "timestamp",
            "executed_exposure",
            "net_return",
            *[f"w_{e}" for e in EXPERTS],
            *[f"exposure_{e}" for e in EXPERTS],
        ]
    ).astype({"net_return": float})
    assert expert_attribution(empty, EXPERTS).empty
