"""Audit trail and per-decision explanations of MM-DREX."""

from mm_drex.audit.explain import (
    audit_trail,
    chart_figure,
    explanation_markdown,
    select_decision,
)

__all__ = ["audit_trail", "chart_figure", "explanation_markdown", "select_decision"]
