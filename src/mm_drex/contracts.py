"""The data contracts between stages as pandera schemas.

The catalog checks them (Kedro's dataset validation: the ``validator:`` key of
an entry in ``conf/base/catalog_*.yml``) when a stage saves the table and when
a later stage loads it, so that a table written by hand or by an older run
(``kedro run --pipelines backtest`` on one's own exposures) is refused with the
column, the check and the failing values named, before any node reads it.
Nothing is coerced: a table that passes is the table that was given.

The columns are those of ``DESIGN.md`` ("Data contracts"); extra columns are
allowed. String columns are checked for presence and nulls only (pandas
stores them as ``str`` or ``string``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES

SIMPLEX_TOLERANCE = 1e-4


def _timestamps() -> pa.Column:
    return pa.Column(
        checks=pa.Check(
            lambda s: pd.api.types.is_datetime64_any_dtype(s),
            element_wise=False,
            error="a datetime column",
        ),
        nullable=False,
    )


def _finite(nullable: bool = False) -> pa.Column:
    return pa.Column(
        float,
        checks=pa.Check(lambda s: np.isfinite(s) | s.isna(), error="finite"),
        nullable=nullable,
    )


def _shares(prefix: str, names: tuple[str, ...]) -> dict[str, pa.Column]:
    return {f"{prefix}{n}": pa.Column(checks=pa.Check.in_range(0, 1)) for n in names}


def _sums_to_one(columns: list[str]):
    return pa.Check(
        lambda frame: (frame[columns].sum(axis=1) - 1.0).abs() <= SIMPLEX_TOLERANCE,
        error=f"{' + '.join(columns)} = 1 (a simplex)",
    )


KEYS = {"instrument": pa.Column(nullable=False), "timestamp": _timestamps()}

OHLCV = pa.DataFrameSchema(
    {
        **KEYS,
        **{price: _finite() for price in ("open", "high", "low", "close")},
        "volume": pa.Column(float, nullable=True),
    },
    unique=["instrument", "timestamp"],
    name="ohlcv",
)

EXPOSURES = pa.DataFrameSchema(
    {
        "strategy": pa.Column(nullable=False),
        "seed": pa.Column("int64"),
        **KEYS,
        "target_exposure": _finite(),
    },
    unique=["strategy", "seed", "instrument", "timestamp"],
    name="exposures",
)

POSITIONS = pa.DataFrameSchema(
    {
        "strategy": pa.Column(nullable=False),
        "seed": pa.Column("int64"),
        **KEYS,
        **{
            column: _finite()
            for column in ("target_exposure", "exposure", "turnover", "cost")
        },
        "net_return": _finite(),
        "nav": pa.Column(float, checks=[pa.Check.ge(0), pa.Check(np.isfinite)]),
    },
    unique=["strategy", "seed", "instrument", "timestamp"],
    name="positions",
)

ROUTER_WEIGHTS = pa.DataFrameSchema(
    {
        **KEYS,
        "segment": pa.Column(nullable=False),
        **_shares("p_", REGIMES),
        **_shares("w_", EXPERTS),
    },
    checks=[
        _sums_to_one([f"p_{r}" for r in REGIMES]),
        _sums_to_one([f"w_{e}" for e in EXPERTS]),
    ],
    unique=["instrument", "timestamp"],
    name="router_weights",
)

DECISION_LOG = pa.DataFrameSchema(
    {
        **KEYS,
        "t": pa.Column("int64"),
        "strategy": pa.Column(nullable=False),
        "seed": pa.Column("int64"),
        "chart_sha256": pa.Column(nullable=False),
        **_shares("p_", REGIMES),
        **_shares("w_", EXPERTS),
        # NaN on the last decision of a segment: it is never executed
        "projected_exposure": _finite(nullable=True),
        "net_return": _finite(nullable=True),
    },
    checks=[_sums_to_one([f"w_{e}" for e in EXPERTS])],
    unique=["strategy", "seed", "instrument", "timestamp"],
    name="decision_log",
)
