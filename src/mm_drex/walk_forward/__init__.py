"""The walk-forward protocol's glue: what a fold reads of the shared stages
(:mod:`.inputs`) and the out-of-sample record of all folds (:mod:`.record`).

The fold plan is :mod:`mm_drex.data.folds`; the chained backtest
:mod:`mm_drex.backtest.folds`; the per-fold table
:mod:`mm_drex.reporting.walk_forward`.
"""
