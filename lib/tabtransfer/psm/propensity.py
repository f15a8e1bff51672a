"""Propensity score model: unpenalised logistic regression fitted to its optimum.

The propensity score is e(x) = P(T = 1 | X = x) (Rosenbaum and Rubin, 1983).
Matching uses its logit, the linear predictor eta(x) = b0 + x'b, which keeps full
precision where e(x) is within 1e-16 of 0 or 1.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, lstsq
from scipy.linalg.blas import dsyrk
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning

from tabtransfer._blas import single_threaded_blas
from tabtransfer._validation import check_binary_labels, check_matrix

__all__ = ["LogisticPropensity"]

#: Smallest eigenvalue of the covariate correlation matrix, relative to the largest,
#: below which the covariates count as linearly dependent.
_RANK_TOLERANCE = 1e-12


class LogisticPropensity(ClassifierMixin, BaseEstimator):
    """Logistic regression of the treatment on the covariates, for propensity scores.

    The model is P(T = 1 | x) = 1 / (1 + exp(-(b0 + x'b))). By default it is
    unpenalised and solved by Newton's method (iteratively reweighted least
    squares, with step halving) on standardised covariates until the largest
    entry of the gradient of the mean log-loss is below ``tol``. On the LaLonde
    NSW-CPS data the scores then differ from statsmodels' ``Logit`` (Newton,
    tol=1e-14) by less than 1e-12. scikit-learn's default ``LogisticRegression`` (an L2 penalty with C=1,
    the lbfgs solver and tol=1e-4) stops far from that optimum on data with
    earnings in dollars.

    Parameters
    ----------
    C : float, default=numpy.inf
        Inverse L2 penalty strength, with scikit-learn's meaning: the objective is
        sum of log-losses + ||b||^2 / (2 C), with b the coefficients of the
        standardised covariates (the intercept is not penalised). ``numpy.inf``
        fits the unpenalised maximum-likelihood estimate.
    tol : float, default=1e-10
        Convergence tolerance on the gradient of the mean log-loss.
    max_iter : int, default=100
        Maximum number of Newton iterations.

    Attributes
    ----------
    coef_ : numpy.ndarray, shape (n_features,)
        Coefficients b on the original covariate scale.
    intercept_ : float
        Intercept b0 on the original covariate scale.
    coef_std_, intercept_std_ : numpy.ndarray of shape (n_features,), float
        The same on the standardised scale (x - mean_) / scale_, where the
        penalty applies.
    mean_, scale_ : numpy.ndarray, shape (n_features,)
        Column means and standard deviations used for standardisation.
    n_iter_ : int
        Newton steps taken.
    separated_ : bool
        True when the fitted linear predictor separates the two groups completely,
        in which case the estimate is not a maximum-likelihood estimate.

    Notes
    -----
    The linear predictor is evaluated column by column with element-wise numpy
    operations, never with a matrix product. Two rows with identical covariates
    therefore get bit-identical scores, which the tie handling of the matching
    relies on. (A BLAS matrix-vector product may sum the rows of different
    blocks in different orders.)

    References
    ----------
    Rosenbaum, P. R. and Rubin, D. B. (1983). The central role of the propensity
    score in observational studies for causal effects. Biometrika 70(1), 41-55.
    """

    def __init__(self, C: float = np.inf, tol: float = 1e-10, max_iter: int = 100):
        self.C = C
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, feature_names=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like or pandas.DataFrame, shape (n_samples, n_features)
            Covariates. The outcome must not be among them.
        y : array-like, shape (n_samples,)
            Treatment indicator, 0/1 or False/True.
        feature_names : sequence of str, optional
            Names used in error messages. Defaults to the DataFrame columns.

        Returns
        -------
        self : LogisticPropensity

        Raises
        ------
        ValueError
            If a covariate is constant or the covariates are linearly dependent,
            because then the coefficients are not identified.

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            If Newton's method stops at ``max_iter``, or if the covariates
            separate the groups completely (see ``separated_``).
        """
        if not (self.C > 0):
            raise ValueError(f"C must be positive (numpy.inf for no penalty), got {self.C}.")
        X_array, columns = check_matrix(X, "X")
        treated = check_binary_labels(y, "y", n_rows=X_array.shape[0])
        if feature_names is None:
            feature_names = (
                list(columns) if columns is not None else [f"x{j}" for j in range(X_array.shape[1])]
            )

        mean = X_array.mean(axis=0)
        scale = X_array.std(axis=0)
        constant = np.flatnonzero(scale == 0)
        if constant.size:
            name = feature_names[constant[0]]
            raise ValueError(
                f"Covariate {name!r} is constant (every row is {X_array[0, constant[0]]}). "
                "Remove it, because the intercept already carries a constant."
            )
        Z = np.empty((X_array.shape[0], X_array.shape[1] + 1))
        Z[:, 0] = 1.0
        np.divide(X_array - mean, scale, out=Z[:, 1:])

        penalty = 0.0 if np.isinf(self.C) else 1.0 / self.C
        # Products of an n x (p + 1) matrix with p near 10 gain little from BLAS
        # threads and slow down several-fold when other processes hold the cores.
        with single_threaded_blas():
            gram = _weighted_gram(Z) / Z.shape[0]
            self._check_rank(gram[1:, 1:], feature_names)
            coefficients, self.n_iter_, converged = _newton_logistic(
                Z, treated.astype(np.float64), penalty, self.tol, self.max_iter, gram
            )

        if not converged:
            warnings.warn(
                f"The propensity model did not converge in max_iter={self.max_iter} "
                "Newton iterations. If a covariate separates treated from control "
                "units perfectly, the maximum-likelihood estimate does not exist: "
                "drop or coarsen that covariate, or set a finite C.",
                ConvergenceWarning,
                stacklevel=2,
            )

        self.mean_ = mean
        self.scale_ = scale
        self.coef_std_ = coefficients[1:]
        self.intercept_std_ = float(coefficients[0])
        self.coef_ = self.coef_std_ / scale
        self.intercept_ = self.intercept_std_ - float(np.sum(self.coef_std_ * mean / scale))
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X_array.shape[1]

        logit = Z @ coefficients
        self.separated_ = bool(
            logit[treated].min() > logit[~treated].max()
            or logit[treated].max() < logit[~treated].min()
        )
        if self.separated_:
            warnings.warn(
                "The covariates separate treated and control units perfectly: every "
                "treated unit has a larger (or every one a smaller) linear predictor "
                "than every control. The maximum-likelihood estimate does not exist, "
                "so the coefficients are arbitrary. Drop or coarsen the separating "
                "covariates, or set a finite C.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    @staticmethod
    def _check_rank(correlation: np.ndarray, feature_names) -> None:
        eigenvalues, eigenvectors = np.linalg.eigh(correlation)
        if eigenvalues[0] < _RANK_TOLERANCE * eigenvalues[-1]:
            loading = np.abs(eigenvectors[:, 0])
            involved = [feature_names[j] for j in np.flatnonzero(loading > 0.1)]
            raise ValueError(
                "The covariates are linearly dependent, so the propensity model is not "
                f"identified. The dependency involves {involved}. Drop one of them "
                "(for example one dummy of a full set of category dummies)."
            )

    def decision_function(self, X) -> np.ndarray:
        """Return the logit of the propensity score, b0 + x'b.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples,)
            Log-odds of treatment, unbounded.
        """
        X_array, _ = check_matrix(X, "X", min_rows=1)
        if X_array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X_array.shape[1]} columns but the model was fitted on "
                f"{self.n_features_in_}; pass the same covariates in the same order."
            )
        logit = np.full(X_array.shape[0], self.intercept_std_)
        for j in range(X_array.shape[1]):
            logit += ((X_array[:, j] - self.mean_[j]) / self.scale_[j]) * self.coef_std_[j]
        return logit

    def predict_proba(self, X) -> np.ndarray:
        """Return P(T = 0 | x) and P(T = 1 | x), shape (n_samples, 2)."""
        score = expit(self.decision_function(X))
        return np.column_stack([1.0 - score, score])

    def predict(self, X) -> np.ndarray:
        """Return the more probable treatment, 0 or 1, shape (n_samples,)."""
        return (self.decision_function(X) > 0).astype(np.int64)


def _mean_log_loss(logit: np.ndarray, target: np.ndarray) -> float:
    # log(1 + exp(eta)) - t * eta, computed without overflow.
    return float(np.mean(np.logaddexp(0.0, logit) - target * logit))


def _weighted_gram(Z: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Return Z' diag(weight) Z, shape (q, q), by a symmetric rank-k update (BLAS syrk)."""
    scaled = Z if weight is None else Z * np.sqrt(weight)[:, None]
    # syrk on the transposed (column-major) view computes only the upper triangle.
    upper = dsyrk(1.0, scaled.T, trans=0)
    return np.triu(upper) + np.triu(upper, 1).T


def _newton_logistic(Z, target, penalty, tol, max_iter, gram):
    """Minimise mean log-loss + penalty * ||b[1:]||^2 / (2 n) by Newton's method.

    ``Z`` has the intercept column first and ``gram`` is Z'Z / n. Each step
    solves H s = g with a Cholesky factorisation (least squares when H is
    singular) and halves s until the objective does not increase. Returns the
    coefficients, the number of Newton steps taken and whether max |g| <= tol
    was reached.
    """
    n, n_columns = Z.shape
    ridge = np.full(n_columns, penalty / n)
    ridge[0] = 0.0
    # Start from the intercept-only fit, logit of the treated share.
    share = float(np.mean(target))
    coefficients = np.zeros(n_columns)
    coefficients[0] = np.log(share / (1.0 - share))
    logit = np.full(n, coefficients[0])
    objective = _mean_log_loss(logit, target)
    for iteration in range(max_iter + 1):
        probability = expit(logit)
        gradient = (probability - target) @ Z / n + ridge * coefficients
        if np.max(np.abs(gradient)) <= tol:
            return coefficients, iteration, True
        if iteration == max_iter:
            break
        if iteration == 0:
            # At the intercept-only start every unit has the same weight.
            hessian = share * (1.0 - share) * gram + np.diag(ridge)
        else:
            weight = probability * (1.0 - probability)
            hessian = _weighted_gram(Z, weight) / n + np.diag(ridge)
        try:
            step = cho_solve(cho_factor(hessian), gradient)
        except LinAlgError:
            step = lstsq(hessian, gradient)[0]

        scale = 1.0
        while True:
            candidate = coefficients - scale * step
            candidate_logit = Z @ candidate
            candidate_objective = _mean_log_loss(candidate_logit, target) + 0.5 * float(
                np.sum(ridge * candidate**2)
            )
            if candidate_objective <= objective + 1e-15 * abs(objective) or scale < 1e-8:
                break
            scale /= 2.0
        coefficients, logit, objective = candidate, candidate_logit, candidate_objective
    return coefficients, max_iter, False
