"""The audit trail of MM-DREX: the decision log (what each decision saw, how
it was projected and executed), its join with the charts and prices, and a
one-page explanation of any decision."""

from mm_drex.audit.decision_log import (
    DECISION_LOG_COLUMNS,
    EXECUTION_COLUMNS,
    decision_log,
)
from mm_drex.audit.explain import chart_figure, explanation_markdown
from mm_drex.audit.settings import ExplainSettings
from mm_drex.audit.trail import audit_trail, select_decision

__all__ = [
    "DECISION_LOG_COLUMNS",
    "EXECUTION_COLUMNS",
    "ExplainSettings",
    "audit_trail",
    "chart_figure",
    "decision_log",
    "explanation_markdown",
    "select_decision",
]
