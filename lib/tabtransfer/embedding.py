"""User embedding from purchase counts: TF-IDF weighting, then truncated SVD.

A company fits the embedding once on its large source data and reuses it unchanged
on new users, the way it would reuse any ready-made asset. :class:`PurchaseEmbedding`
does exactly that: ``fit`` on the source counts, ``transform`` on any later rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils.validation import check_is_fitted

__all__ = ["PurchaseEmbedding"]


class PurchaseEmbedding(TransformerMixin, BaseEstimator):
    r"""Embed users by their purchase counts: TF-IDF, then truncated SVD.

    Each user is a "document" whose "words" are product categories. TF-IDF
    (:class:`sklearn.feature_extraction.text.TfidfTransformer`, sublinear term
    frequency :math:`1 + \log n_{uc}`, smooth IDF, rows scaled to unit L2 norm)
    down-weights categories everyone buys; :class:`sklearn.decomposition.TruncatedSVD`
    then keeps the ``n_components`` directions of largest variance. The result is
    a point :math:`z_u \in \mathbb R^{k}` per user.

    Parameters
    ----------
    n_components : int, default=50
        Dimension k of the embedding. Must be below the number of count columns.
    random_state : int, default=0
        Seed of the randomised SVD solver.

    Attributes
    ----------
    columns_ : list of str
        Count columns seen in ``fit``; ``transform`` requires the same columns.
    tfidf_ : TfidfTransformer
    svd_ : TruncatedSVD
    explained_variance_ratio_ : ndarray of shape (n_components,)
    """

    def __init__(self, n_components: int = 50, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def _counts(self, X, *, fitting: bool) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            raise ValueError(
                f"PurchaseEmbedding expects a DataFrame of purchase counts, got {type(X).__name__}. "
                "Pass data.source[data.purchase_columns]."
            )
        if fitting:
            columns = list(X.columns)
        else:
            missing = [c for c in self.columns_ if c not in X.columns]
            if missing:
                raise ValueError(
                    f"Count columns seen in fit are missing: {missing[:5]}"
                    f"{' ...' if len(missing) > 5 else ''}. Pass the same purchase columns as in fit."
                )
            columns = self.columns_
        values = X[columns].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError("Purchase counts contain NaN or inf. Fill missing counts with 0 before embedding.")
        if np.any(values < 0):
            row, column = np.unravel_index(np.argmin(values), values.shape)
            raise ValueError(
                f"Purchase counts must be non-negative, but column {columns[column]!r} has "
                f"{values[row, column]:g} at row {X.index[row]!r}. Pass raw counts, not centred or scaled values."
            )
        return values

    def fit(self, X: pd.DataFrame, y=None) -> "PurchaseEmbedding":
        """Learn the IDF weights and the SVD directions from source counts."""
        counts = self._counts(X, fitting=True)
        if not 1 <= self.n_components < counts.shape[1]:
            raise ValueError(
                f"n_components must be between 1 and {counts.shape[1] - 1} (below the number of "
                f"count columns), got {self.n_components}."
            )
        self.columns_ = list(X.columns)
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.svd_ = TruncatedSVD(n_components=self.n_components, random_state=self.random_state)
        self.svd_.fit(self.tfidf_.transform(counts))
        self.explained_variance_ratio_ = self.svd_.explained_variance_ratio_
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Embed users; returns a DataFrame with columns ``z01`` ... and the input index."""
        check_is_fitted(self, "svd_")
        counts = self._counts(X, fitting=False)
        Z = self.svd_.transform(self.tfidf_.transform(counts))
        return pd.DataFrame(Z, index=X.index, columns=self.get_feature_names_out())

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names ``z01``, ``z02``, ... of the embedding dimensions."""
        return np.array([f"z{i + 1:02d}" for i in range(self.n_components)], dtype=object)
