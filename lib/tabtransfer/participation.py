"""The promotion-participation model of the running story, and the experiment around it.

The e-commerce team predicts who joins a promotion from age, income, the product of
standardised age and standardised log income, log visit frequency and the
50-dimensional purchase embedding, each standardised before a logistic regression. Chapter 1 trains this
model on the source, then applies it unchanged to the supermarket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.simulation import simulate_course_data

__all__ = [
    "MotivationResult",
    "make_participation_model",
    "participation_features",
    "run_motivation",
]


def participation_features(users: pd.DataFrame, embedding: pd.DataFrame) -> pd.DataFrame:
    """Build the participation model's inputs from user columns and their embedding.

    Parameters
    ----------
    users : DataFrame
        Rows of :func:`tabtransfer.simulate_course_data` output (``age``, ``income``
        in thousand yuan per month, ``visit_freq`` in visits per month).
    embedding : DataFrame
        The same users' embedding, as returned by :class:`PurchaseEmbedding`.

    Returns
    -------
    DataFrame
        ``age``, ``income``, ``age_x_income`` (standardised age times standardised
        log income, :math:`a \\cdot r` in the simulator's notation), ``log_visit`` and
        the embedding columns, indexed like ``users``.
    """
    if not users.index.equals(embedding.index):
        raise ValueError(
            "users and embedding must have the same index, in the same order. "
            "Embed exactly the rows you pass as users."
        )
    a = (users["age"] - 40) / 12
    r = np.log(users["income"] / 8) / 0.5
    base = pd.DataFrame(
        {
            "age": users["age"].astype(float),
            "income": users["income"],
            "age_x_income": a * r,
            "log_visit": np.log(users["visit_freq"]),
        },
        index=users.index,
    )
    return pd.concat([base, embedding], axis=1)


def make_participation_model() -> Pipeline:
    """Return an unfitted standardise-then-logistic-regression pipeline."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))


@dataclass(frozen=True)
class MotivationResult:
    """Accuracies of the source model on held-out source users and on the target."""

    n_source: int
    n_target: int
    accuracy_source: float
    accuracy_target: float
    auc_source: float
    auc_target: float
    majority_target: float
    participation_rate_target: float
    predicted_rate_target: float

    @property
    def accuracy_drop(self) -> float:
        """Source accuracy minus target accuracy (a fraction, not percentage points)."""
        return self.accuracy_source - self.accuracy_target


def run_motivation(seed: int = 0, *, test_size: float = 0.2, **simulation_kwargs) -> MotivationResult:
    """Train the participation model on the source and score it on both domains.

    Simulates the course data, fits :class:`PurchaseEmbedding` on the training part
    of the source, trains :func:`make_participation_model` there, and measures it on
    held-out source users and, unchanged, on every target user.

    Parameters
    ----------
    seed : int
        Seed of the simulation and of the train/test split.
    test_size : float
        Share of source users held out for the source accuracy.
    **simulation_kwargs
        Passed to :func:`tabtransfer.simulate_course_data` (for example
        ``value_boost=1`` to switch off the supermarket's promotion of value lines).
    """
    data = simulate_course_data(seed=seed, **simulation_kwargs)
    train, test = train_test_split(data.source, test_size=test_size, random_state=seed)
    embedding = PurchaseEmbedding().fit(train[data.purchase_columns])

    def features(users: pd.DataFrame) -> pd.DataFrame:
        return participation_features(users, embedding.transform(users[data.purchase_columns]))

    model = make_participation_model().fit(features(train), train["participate"])
    X_test, X_target = features(test), features(data.target)
    y_target = data.target["participate"]
    rate = float(y_target.mean())
    return MotivationResult(
        n_source=len(data.source),
        n_target=len(data.target),
        accuracy_source=accuracy_score(test["participate"], model.predict(X_test)),
        accuracy_target=accuracy_score(y_target, model.predict(X_target)),
        auc_source=roc_auc_score(test["participate"], model.predict_proba(X_test)[:, 1]),
        auc_target=roc_auc_score(y_target, model.predict_proba(X_target)[:, 1]),
        majority_target=max(rate, 1 - rate),
        participation_rate_target=rate,
        predicted_rate_target=float(model.predict(X_target).mean()),
    )
