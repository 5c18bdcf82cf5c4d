"""Is the regime perceivable? Label horizons and thresholds scored on
validation windows against the persistence rule.

For every fold split and every label specification (horizon ``H``, threshold
``theta``) the regimes are labelled with the project's rule
(:func:`mm_drex.regimes.labels.label_regimes`); two learners fitted on the
fold's **train** decisions (multinomial logistic regression on standardised
features, gradient-boosted trees) predict the **val** labels from the
decision-time features, beside the persistence rule (the same label rule on
the past ``H`` bars, ``persistence_id``) and the train-majority class.
Scores are val macro-F1; the margin is the better learner's F1 minus the
persistence rule's. Test windows are never read: each fold's split is cut
at its val segment.

The learners are stand-ins for the router (they see the numeric features,
not the chart or the text view): a label they cannot predict better than the
persistence rule gives the router little to perceive beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from mm_drex.regimes.labels import REGIMES, label_regimes

KEYS = ["instrument", "timestamp"]
LEARNERS = ("logistic", "boosting")


def _macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(
        f1_score(
            truth,
            predicted,
            labels=range(len(REGIMES)),
            average="macro",
            zero_division=0,
        )
    )


def fold_label_scores(
    ohlcv: pd.DataFrame,
    split: pd.DataFrame,
    features: pd.DataFrame,
    horizon: int,
    theta: float,
    volatility_window: int = 60,
    window: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """Val macro-F1 of the learners, the persistence rule and the majority
    class for one fold split and one label specification."""
    regimes = label_regimes(ohlcv, split, horizon, theta, volatility_window, window)
    regimes = regimes[
        regimes["segment"].isin(["train", "val"]) & (regimes["regime_id"] >= 0)
    ]
    columns = [
        c
        for c in features.columns
        if c not in (*KEYS, "t", "segment")
        and pd.api.types.is_numeric_dtype(features[c])
    ]
    rows = regimes.merge(features[[*KEYS, *columns]], on=KEYS, how="left")
    train, val = rows[rows["segment"] == "train"], rows[rows["segment"] == "val"]
    if train.empty or val.empty:
        raise ValueError(
            f"label study (horizon {horizon}, theta {theta}): no labelled "
            f"{'train' if train.empty else 'val'} decisions in the fold split"
        )
    scaler = StandardScaler().fit(train[columns].to_numpy(dtype=float))

    def design(frame: pd.DataFrame) -> np.ndarray:
        return np.nan_to_num(scaler.transform(frame[columns].to_numpy(dtype=float)))

    y_train, y_val = train["regime_id"].to_numpy(), val["regime_id"].to_numpy()
    learners = {
        "logistic": LogisticRegression(max_iter=500, class_weight="balanced"),
        "boosting": HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, class_weight="balanced", random_state=seed
        ),
    }
    out = {
        "n_train": len(train),
        "n_val": len(val),
        **{
            f"share_{name}": float((y_val == i).mean())
            for i, name in enumerate(REGIMES)
        },
    }
    for name, learner in learners.items():
        learner.fit(design(train), y_train)
        out[f"f1_{name}"] = _macro_f1(y_val, learner.predict(design(val)))
    persistence = val["persistence_id"].to_numpy()
    known = persistence >= 0
    out["f1_persistence"] = _macro_f1(y_val[known], persistence[known])
    majority = np.bincount(y_train, minlength=len(REGIMES)).argmax()
    out["f1_majority"] = _macro_f1(y_val, np.full(len(y_val), majority))
    out["margin"] = max(out[f"f1_{n}"] for n in LEARNERS) - out["f1_persistence"]
    return out


def label_study(
    ohlcv: pd.DataFrame,
    features: pd.DataFrame,
    splits: Mapping[str, pd.DataFrame],
    horizons: Sequence[int],
    thetas: Sequence[float],
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`fold_label_scores` for every fold and every (horizon, theta):
    one row each with ``fold, horizon, theta`` first."""
    rows = []
    for fold, split in splits.items():
        for horizon in horizons:
            for theta in thetas:
                scores = fold_label_scores(
                    ohlcv, split, features, int(horizon), float(theta), seed=seed
                )
                rows.append(
                    {"fold": fold, "horizon": horizon, "theta": theta, **scores}
                )
    return pd.DataFrame(rows)


def study_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (horizon, theta): mean val F1 of each scorer, the mean margin over
    the persistence rule and the folds where the margin is positive."""
    scores = [c for c in table.columns if c.startswith("f1_")]
    grouped = table.groupby(["horizon", "theta"], sort=True)
    summary = grouped[[*scores, "margin"]].mean()
    summary["folds_above_persistence"] = grouped["margin"].apply(
        lambda m: int((m > 0).sum())
    )
    summary["folds"] = grouped.size()
    return summary.reset_index()
