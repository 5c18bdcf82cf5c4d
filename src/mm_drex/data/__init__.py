"""Market data: bundled sources, user files, validation, cleaning and the split."""

from mm_drex.data.prices import simple_returns
from mm_drex.data.split import assign_segments, chronological_split
from mm_drex.data.validation import DataValidationError, validate_bars

__all__ = [
    "DataValidationError",
    "assign_segments",
    "chronological_split",
    "simple_returns",
    "validate_bars",
]
