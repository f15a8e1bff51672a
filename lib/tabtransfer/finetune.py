"""Model transfer: fine-tune a source logistic regression on target rows.

The source coefficients become the centre of a Gaussian prior, so the target fit
is pulled toward them instead of toward zero. This is maximum a posteriori
adaptation with a Gaussian prior centred on a "background" model, as in C. Chelba
and A. Acero, "Adaptation of maximum entropy capitalizer: Little data can help a
lot", Proceedings of EMNLP 2004.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from tabtransfer._validation import check_matrix

__all__ = ["FineTunedLogisticRegression"]


def _penalised_log_loss(
    params, X, y, sample_weight, offset, strength, prior, penalised
):
    """Return the penalised logistic loss divided by the total weight, and its gradient.

    ``params`` is ``[w_1, ..., w_k, b]``. The loss of a row with label y in {0, 1}
    and score z = offset + x w + b is log(1 + exp(z)) - y z.
    """
    coef, intercept = params[:-1], params[-1]
    scores = offset + X @ coef + intercept
    total_weight = sample_weight.sum()
    loss = np.sum(sample_weight * (np.logaddexp(0.0, scores) - y * scores))
    residual = sample_weight * (expit(scores) - y)
    gradient = np.append(X.T @ residual, residual.sum())

    difference = (params - prior) * penalised
    loss += 0.5 * strength * np.sum(difference**2)
    gradient += strength * difference
    return loss / total_weight, gradient / total_weight


class FineTunedLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression fitted on target rows, with a prior at the source.

    Minimises, over the coefficients :math:`w` and the intercept :math:`b`,

    .. math::

        \\sum_{i=1}^{n} s_i \\left[\\log\\left(1 + e^{z_i}\\right) - y_i z_i\\right]
        + \\frac{\\lambda}{2} \\lVert w - w_{\\text{source}} \\rVert_2^2,
        \\qquad z_i = x_i w + b,

    where :math:`y_i \\in \\{0, 1\\}` marks the positive class ``classes_[1]``,
    :math:`s_i` are sample weights (1 by default), and :math:`\\lambda` is
    ``strength``. The penalty is a Gaussian prior :math:`N(w_{\\text{source}},
    \\lambda^{-1} I)`, so ``strength`` moves the fit from the target-only maximum
    likelihood estimate (:math:`\\lambda \\to 0`) to the source coefficients
    (:math:`\\lambda \\to \\infty`). The intercept is not penalised unless
    ``penalize_intercept=True``, because the base rate often differs between
    domains. With :math:`w_{\\text{source}} = 0` this is scikit-learn's L2
    ``LogisticRegression`` with ``C = 1 / strength``.

    The objective is fitted with L-BFGS (:func:`scipy.optimize.minimize`,
    ``method="L-BFGS-B"``) and its analytic gradient
    :math:`X^\\top (s \\odot (\\sigma(z) - y)) + \\lambda (w - w_{\\text{source}})`.

    Starting scikit-learn's ``LogisticRegression(warm_start=True)`` at the source
    coefficients is not fine-tuning: its penalised objective is strictly convex,
    so the optimum does not depend on the starting point and the fit ends where
    a cold start ends. The source model must enter the objective, as here.

    Parameters
    ----------
    source : fitted binary classifier with ``coef_`` and ``intercept_``, optional
        For example a fitted :class:`sklearn.linear_model.LogisticRegression`.
        Its ``classes_`` must equal the target classes. Give either ``source`` or
        ``source_coef``. For cross-validation or grid search, which clone the
        estimator and with it unfit ``source``, wrap it as
        ``sklearn.frozen.FrozenEstimator(source)``.
    source_coef : array-like of shape (n_features,) or (1, n_features), optional
        Source coefficients :math:`w_{\\text{source}}`, for the positive class
        ``classes_[1]`` (the larger label), in units of 1 / feature unit.
    source_intercept : float, default=0.0
        Source intercept, used as the starting point and, with
        ``penalize_intercept=True``, as the prior centre of the intercept.
        Ignored when ``source`` is given.
    strength : float, default=1.0
        Prior precision :math:`\\lambda \\ge 0`, in the units of the summed log
        loss per squared coefficient unit. ``numpy.inf`` fixes
        :math:`w = w_{\\text{source}}` and fits only the (unpenalised) intercept.
        Because the loss is summed over rows, the same ``strength`` matters less
        as the target sample grows.
    penalize_intercept : bool, default=False
        Whether the intercept is pulled toward the source intercept too.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-10
        Tolerance on the largest absolute component of the gradient of the
        objective divided by the total sample weight (``gtol`` of L-BFGS-B).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features)
        Fine-tuned coefficients :math:`w`.
    intercept_ : ndarray of shape (1,)
        Fine-tuned intercept :math:`b`.
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the positive class.
    source_coef_ : ndarray of shape (n_features,)
        The prior centre :math:`w_{\\text{source}}` used in the fit.
    source_intercept_ : float
        The source intercept used in the fit.
    n_iter_ : int
        Number of L-BFGS iterations.
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of shape (n_features,)
        Column labels, defined only when ``X`` was a DataFrame.

    Notes
    -----
    ``predict``, ``predict_proba`` and ``decision_function`` return numpy arrays,
    as every scikit-learn classifier does, also for DataFrame input.
    """

    def __init__(
        self,
        source=None,
        *,
        source_coef=None,
        source_intercept: float = 0.0,
        strength: float = 1.0,
        penalize_intercept: bool = False,
        max_iter: int = 1000,
        tol: float = 1e-10,
    ):
        self.source = source
        self.source_coef = source_coef
        self.source_intercept = source_intercept
        self.strength = strength
        self.penalize_intercept = penalize_intercept
        self.max_iter = max_iter
        self.tol = tol

    def _source_parameters(self, classes: np.ndarray, n_features: int):
        if (self.source is None) == (self.source_coef is None):
            raise ValueError(
                "Pass exactly one of source (a fitted LogisticRegression) and "
                "source_coef (an array of source coefficients)."
            )
        if self.source is not None:
            try:
                check_is_fitted(self.source, ["coef_", "intercept_"])
            except NotFittedError as error:
                raise ValueError(
                    "source is not fitted. scikit-learn's clone (used by "
                    "cross_val_score and GridSearchCV) unfits nested estimators, so "
                    "wrap a fitted source in sklearn.frozen.FrozenEstimator or pass "
                    "source_coef and source_intercept."
                ) from error
            source_classes = getattr(self.source, "classes_", None)
            if source_classes is not None and not np.array_equal(
                source_classes, classes
            ):
                raise ValueError(
                    "The source model was fitted on classes "
                    f"{list(source_classes)} but "
                    f"y has classes {list(classes)}; encode the target labels as in "
                    "the source."
                )
            coef = np.asarray(self.source.coef_, dtype=np.float64)
            intercept = np.ravel(np.asarray(self.source.intercept_, dtype=np.float64))
            if coef.ndim != 2 or coef.shape[0] != 1 or intercept.size != 1:
                raise ValueError(
                    f"The source model has coef_ of shape {coef.shape}; only a binary "
                    "model with coef_ of shape (1, n_features) can be fine-tuned."
                )
            coef, intercept = coef.ravel(), float(intercept[0])
        else:
            coef = np.asarray(self.source_coef, dtype=np.float64)
            if coef.ndim == 2 and coef.shape[0] == 1:
                coef = coef.ravel()
            if coef.ndim != 1:
                raise ValueError(
                    "source_coef must have shape (n_features,) or (1, n_features), "
                    f"got {coef.shape}; pass the coefficients of a binary model."
                )
            intercept = self.source_intercept
            if not isinstance(intercept, Real) or not np.isfinite(intercept):
                raise ValueError(
                    f"source_intercept must be a finite number, got {intercept!r}."
                )
            intercept = float(intercept)
        if coef.shape[0] != n_features:
            raise ValueError(
                f"The source model has {coef.shape[0]} coefficient(s) but X has "
                f"{n_features} column(s); pass target rows with the source's features."
            )
        if not np.isfinite(coef).all():
            raise ValueError("The source coefficients contain NaN or infinity.")
        return coef, intercept

    def _check_params(self) -> None:
        strength = self.strength
        if not isinstance(strength, Real) or np.isnan(strength) or strength < 0:
            raise ValueError(
                f"strength must be a number >= 0 (numpy.inf allowed), got {strength!r}."
            )
        if not isinstance(self.tol, Real) or not self.tol > 0:
            raise ValueError(f"tol must be a positive number, got {self.tol!r}.")
        if not isinstance(self.max_iter, Integral) or self.max_iter < 1:
            raise ValueError(
                f"max_iter must be a positive integer, got {self.max_iter!r}."
            )

    def fit(self, X, y, sample_weight=None):
        """Fine-tune the source model on labelled target rows.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features)
            Target features, in the same units and column order as the source.
        y : array-like, shape (n_samples,)
            Target labels with exactly two classes.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights, e.g. importance weights.

        Returns
        -------
        self : FineTunedLogisticRegression
        """
        self._check_params()
        X_array, columns = check_matrix(X, "X")
        y_array = np.asarray(y)
        if y_array.ndim != 1 or y_array.shape[0] != X_array.shape[0]:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({X_array.shape[0]}), got "
                f"shape {y_array.shape}."
            )
        classes = np.unique(y_array)
        if classes.size != 2:
            raise ValueError(
                f"y must contain exactly two classes, got {classes.size}: "
                f"{classes.tolist()[:5]}; fine-tuning supports binary targets only."
            )
        if sample_weight is None:
            weights = np.ones(X_array.shape[0])
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if (
                weights.shape != (X_array.shape[0],)
                or not np.isfinite(weights).all()
                or (weights < 0).any()
                or weights.sum() <= 0
            ):
                raise ValueError(
                    "sample_weight must be finite, non-negative, with a positive sum "
                    f"and one entry per row of X ({X_array.shape[0]})."
                )

        source_coef, source_intercept = self._source_parameters(
            classes, X_array.shape[1]
        )
        is_positive = (y_array == classes[1]).astype(np.float64)
        coef, intercept, n_iter = self._minimise(
            X_array, is_positive, weights, source_coef, source_intercept
        )

        self.classes_ = classes
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([intercept])
        self.source_coef_ = source_coef
        self.source_intercept_ = source_intercept
        self.n_iter_ = n_iter
        self.n_features_in_ = X_array.shape[1]
        if columns is not None:
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _minimise(self, X, y, weights, source_coef, source_intercept):
        fixed_coef = np.isinf(self.strength)
        if fixed_coef:
            # The coefficients stay at the source; only the intercept is free.
            design, offset = np.empty((X.shape[0], 0)), X @ source_coef
            prior = np.array([source_intercept])
            strength = 0.0
        else:
            design, offset = X, np.zeros(X.shape[0])
            prior = np.append(source_coef, source_intercept)
            strength = float(self.strength)
        penalised = np.ones(prior.size)
        penalised[-1] = float(self.penalize_intercept)

        result = minimize(
            _penalised_log_loss,
            x0=prior.copy(),
            args=(design, y, weights, offset, strength, prior, penalised),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 0.0},
        )
        largest_gradient = float(np.max(np.abs(result.jac)))
        if not result.success and largest_gradient > np.sqrt(self.tol):
            warnings.warn(
                f"L-BFGS stopped after {result.nit} iterations ({result.message}) with "
                f"gradient {largest_gradient:.2e}; increase max_iter, standardise the "
                "features, or raise strength if the classes are separable.",
                ConvergenceWarning,
                stacklevel=3,
            )
        coef = source_coef.copy() if fixed_coef else result.x[:-1]
        return coef, float(result.x[-1]), int(result.nit)

    def predict(self, X):
        """Predict ``classes_[1]`` where the log-odds exceed 0, else ``classes_[0]``.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def predict_proba(self, X):
        """Return class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict_log_proba(self, X):
        """Return the logarithm of :meth:`predict_proba`, computed without overflow."""
        scores = self.decision_function(X)
        return np.column_stack(
            [-np.logaddexp(0.0, scores), -np.logaddexp(0.0, -scores)]
        )

    def decision_function(self, X):
        """Return the log-odds :math:`x w + b` of the positive class ``classes_[1]``.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        X_array, _ = check_matrix(X, "X", min_rows=1)
        if X_array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X_array.shape[1]} column(s) but the model was fitted on "
                f"{self.n_features_in_}; pass rows with the same features."
            )
        return X_array @ self.coef_.ravel() + self.intercept_[0]
