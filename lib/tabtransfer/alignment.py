"""Correlation alignment (CORAL) of a source domain to a target domain.

CORAL [1]_ re-colours the source features so that their covariance matches the
target's. With the regularised covariances

.. math::

    C_s = \\operatorname{cov}(X_s) + \\lambda I_d, \\qquad
    C_t = \\operatorname{cov}(X_t) + \\lambda I_d,

every source row :math:`x` (a row vector of length :math:`d`) is mapped to

.. math::

    x \\mapsto (x - \\mu_s)\\, C_s^{-1/2} C_t^{1/2} + \\mu_t

(the default, ``center=True``) or to :math:`x\\, C_s^{-1/2} C_t^{1/2}` as in the
paper (``center=False``). :func:`coral` does this in one call and
:class:`CORAL` learns the map once and applies it to new source rows.

References
----------
.. [1] B. Sun, J. Feng and K. Saenko, "Return of Frustratingly Easy Domain
   Adaptation", Proceedings of the AAAI Conference on Artificial Intelligence
   30 (2016), 2058-2065.
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from tabtransfer._blas import single_threaded_blas
from tabtransfer._validation import check_finite, check_matrix, check_pair, wrap_rows

__all__ = ["CORAL", "coral"]

# Block size of the covariance pass when it centres rows block by block. Blocks
# of at most 16 MiB bound the extra memory, and a few large BLAS calls, not many
# small ones, keep multi-threaded BLAS efficient when other processes share the
# cores.
_COVARIANCE_BLOCK_BYTES = 16 << 20

# Block size of the mapping pass, which runs on one BLAS thread. A 2 MiB block
# stays in the CPU cache while it is centred, multiplied and shifted.
_MAP_BLOCK_BYTES = 2 << 20

# The covariance pass skips the centring (one BLAS product of the raw rows,
# corrected by the mean afterwards) when every column mean lies within this many
# standard deviations of zero. The cancellation then multiplies the rounding
# error of the covariance by at most 1 + 10**2 = 101, about two of the sixteen
# significant digits. Columns further from zero, such as calendar years, take the
# exact path that centres each block of rows before the product.
_MAX_MEAN_IN_SD = 10.0


def _block_rows(n_columns: int, block_bytes: int) -> int:
    return max(256, block_bytes // (8 * n_columns))


def _far_from_zero(mean: np.ndarray, variance: np.ndarray) -> bool:
    """Return True if some column mean exceeds _MAX_MEAN_IN_SD standard deviations."""
    return bool(np.any(mean**2 > _MAX_MEAN_IN_SD**2 * variance))


def _mean_and_covariance(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the column means and the sample covariance (divisor n - 1) of X.

    The fast path is one product :math:`X^\\top X - n \\bar x \\bar x^\\top`.
    If a column mean is far from zero compared with its standard deviation (see
    ``_MAX_MEAN_IN_SD``), the covariance is recomputed from rows centred block by
    block, which never holds a centred copy of ``X``. NaN or infinity in ``X``
    gives a non-finite covariance, which the caller rejects.
    """
    n_rows, n_columns = X.shape
    with np.errstate(invalid="ignore", over="ignore"):
        mean = X.mean(axis=0)
        scatter = X.T @ X
        scatter -= n_rows * np.outer(mean, mean)
        if _far_from_zero(mean, np.diag(scatter) / (n_rows - 1)):
            block = _block_rows(n_columns, _COVARIANCE_BLOCK_BYTES)
            buffer = np.empty((min(block, n_rows), n_columns))
            scatter = np.zeros((n_columns, n_columns))
            for start in range(0, n_rows, block):
                stop = min(start + block, n_rows)
                centred = buffer[: stop - start]
                np.subtract(X[start:stop], mean, out=centred)
                scatter += centred.T @ centred
    covariance = scatter / (n_rows - 1)
    # Symmetrise so that rounding cannot make eigh see a non-symmetric matrix.
    return mean, (covariance + covariance.T) / 2


def _apply_map(
    X: np.ndarray,
    matrix: np.ndarray,
    shift_in: np.ndarray | None,
    shift_out: np.ndarray | None,
) -> np.ndarray:
    """Return ``(X - shift_in) @ matrix + shift_out``, a missing shift counting as 0.

    Works through cache-sized blocks of rows. Each block is centred before the
    product, so the result keeps full precision however large ``shift_in`` is.
    """
    n_rows, n_columns = X.shape
    output = np.empty((n_rows, matrix.shape[1]))
    block = _block_rows(n_columns, _MAP_BLOCK_BYTES)
    buffer = np.empty((min(block, n_rows), n_columns))
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        rows = X[start:stop]
        if shift_in is not None:
            rows = np.subtract(rows, shift_in, out=buffer[: stop - start])
        np.matmul(rows, matrix, out=output[start:stop])
        if shift_out is not None:
            output[start:stop] += shift_out
    return output


def _coloring_matrix(
    C_s: np.ndarray, C_t: np.ndarray, eig_floor: float | None
) -> tuple[np.ndarray, int]:
    """Return :math:`C_s^{-1/2} C_t^{1/2}` and the number of truncated C_s eigenvalues.

    Both powers come from a symmetric eigendecomposition, so the result is real.
    Eigenvalues at or below the floor count as zero. The square root of ``C_t``
    uses ``max(eigenvalue, 0)``. The inverse square root of ``C_s`` is the
    pseudo-inverse of its square root, so directions without source variance are
    mapped to zero instead of being multiplied by a huge number.
    """
    n_columns = C_s.shape[0]
    eigenvalues_s, vectors_s = np.linalg.eigh(C_s)
    eigenvalues_t, vectors_t = np.linalg.eigh(C_t)
    if eig_floor is None:
        # Same relative tolerance as numpy.linalg.matrix_rank.
        floor_s = n_columns * np.finfo(np.float64).eps * max(eigenvalues_s[-1], 0.0)
    else:
        floor_s = eig_floor
    above_floor = eigenvalues_s > floor_s
    inverse_root_s = np.zeros(n_columns)
    inverse_root_s[above_floor] = 1.0 / np.sqrt(eigenvalues_s[above_floor])
    root_t = np.sqrt(np.maximum(eigenvalues_t, 0.0))
    whitening = (vectors_s * inverse_root_s) @ vectors_s.T
    coloring = (vectors_t * root_t) @ vectors_t.T
    return whitening @ coloring, int(n_columns - above_floor.sum())


class CORAL(TransformerMixin, BaseEstimator):
    """Correlation alignment (CORAL) of source rows to a target domain.

    :meth:`fit` learns the linear map from a source sample ``Xs`` and a target
    sample ``Xt`` once, and :meth:`transform` applies it to any source rows:

    .. math::

        x \\mapsto (x - \\mu_s)\\, M + \\mu_t, \\qquad
        M = C_s^{-1/2} C_t^{1/2}, \\qquad
        C_s = \\operatorname{cov}(X_s) + \\lambda I, \\quad
        C_t = \\operatorname{cov}(X_t) + \\lambda I,

    after Sun, Feng and Saenko (AAAI 2016). The covariances are sample
    covariances with divisor :math:`n - 1`. The matrix powers come from a
    symmetric eigendecomposition with an eigenvalue floor, so the map is real and
    finite also when :math:`d > n` or when columns are constant or collinear.

    Parameters
    ----------
    reg : float, default=1.0
        Ridge :math:`\\lambda \\ge 0` added to the diagonal of both covariances, in
        squared feature units. It damps the alignment: along a direction where the
        source has variance :math:`\\sigma_s^2` and the target :math:`\\sigma_t^2`,
        the map scales by :math:`\\sqrt{(\\sigma_t^2 + \\lambda)/(\\sigma_s^2 + \\lambda)}`
        instead of :math:`\\sigma_t / \\sigma_s`, so ``reg`` pulls the map toward
        the identity. ``reg`` has no scale-free meaning. On raw SVD output, whose
        component variances are around 0.01, ``reg=1`` makes CORAL nearly the
        identity map (with ``center=True``, only the means move). On standardised
        columns (variances near 1), ``reg=1`` is heavy shrinkage: the means are
        matched and the variances only a little (source variance 4 and target
        variance 1 give the factor :math:`\\sqrt{2/5} \\approx 0.63` instead of 0.5).
        ``reg=0`` aligns the covariances exactly when the source covariance has
        full rank. Use ``standardize`` to make ``reg`` relative to column SDs.
    center : bool, default=True
        If True, centre the source on its mean before the map and add the target
        mean after it, so the aligned source has the target's mean and
        covariance. If False, apply :math:`x \\mapsto x M` as in the paper, which
        aligns the covariance only, and the aligned mean is :math:`\\mu_s M`.
    standardize : {False, True, "source", "pooled"}, default=False
        If ``"source"`` (or True), divide both domains by the source column
        standard deviations :math:`s_j` before computing the map and multiply
        back after it, so the output is in the original units and ``reg`` is in
        units of the source variance. If ``"pooled"``, use the within-domain
        pooled SD :math:`\\sqrt{((n_s-1)s_{s,j}^2 + (n_t-1)s_{t,j}^2)/(n_s+n_t-2)}`.
        Columns with zero SD keep scale 1. The result is the map
        :math:`M = D^{-1} M' D`, where :math:`D = \\operatorname{diag}(s)` and
        :math:`M'` is the map of the scaled data.
    eig_floor : float, optional
        Eigenvalues of :math:`C_s` at or below this value count as zero and
        their directions are mapped to zero. Defaults to
        :math:`d \\cdot \\varepsilon_{\\text{float64}} \\cdot \\lambda_{\\max}(C_s)`,
        the tolerance of :func:`numpy.linalg.matrix_rank`. With ``reg > 0`` the
        floor only guards against rounding.

    Attributes
    ----------
    mean_source_, mean_target_ : ndarray of shape (n_features,)
        Column means of the source and target samples, in feature units.
    covariance_source_, covariance_target_ : ndarray of shape (n_features, n_features)
        Sample covariances before adding ``reg``, in squared feature units.
    scale_ : ndarray of shape (n_features,)
        Column scales :math:`s_j` used by ``standardize`` (all ones if False).
    matrix_ : ndarray of shape (n_features, n_features)
        The map :math:`M`, applied as ``(x - mean_source_) @ matrix_``.
    n_truncated_ : int
        Number of source eigenvalues at or below the floor (0 when full rank).
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of shape (n_features,)
        Column labels, defined only when ``Xs`` was a DataFrame.

    Notes
    -----
    ``fit`` takes the target matrix in the ``y`` position, so this transformer is
    not a drop-in step of a supervised :class:`sklearn.pipeline.Pipeline`. Warns
    (``UserWarning``) when ``reg=0`` and the source covariance is singular,
    because the aligned covariance then cannot equal the target's.

    Examples
    --------
    >>> import numpy as np
    >>> from tabtransfer import CORAL
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(500, 3)) * [1.0, 2.0, 3.0]
    >>> Xt = rng.normal(size=(400, 3))
    >>> aligner = CORAL(reg=0.0).fit(Xs, Xt)
    >>> bool(np.allclose(np.cov(aligner.transform(Xs), rowvar=False),
    ...                  np.cov(Xt, rowvar=False)))
    True
    """

    def __init__(
        self,
        reg: float = 1.0,
        *,
        center: bool = True,
        standardize=False,
        eig_floor: float | None = None,
    ):
        self.reg = reg
        self.center = center
        self.standardize = standardize
        self.eig_floor = eig_floor

    def _check_params(self) -> None:
        if not isinstance(self.reg, Real) or not np.isfinite(self.reg) or self.reg < 0:
            raise ValueError(
                f"reg must be a finite number >= 0, got {self.reg!r}; use reg=0 for "
                "exact alignment or a positive value to damp it."
            )
        valid_standardize = isinstance(self.standardize, (bool, np.bool_)) or (
            isinstance(self.standardize, str)
            and self.standardize in ("source", "pooled")
        )
        if not valid_standardize:
            raise ValueError(
                f"standardize must be False, True, 'source' or 'pooled', got "
                f"{self.standardize!r}."
            )
        if self.eig_floor is not None and (
            not isinstance(self.eig_floor, Real)
            or not np.isfinite(self.eig_floor)
            or self.eig_floor < 0
        ):
            raise ValueError(
                "eig_floor must be None or a finite number >= 0, got "
                f"{self.eig_floor!r}."
            )

    def _column_scale(self, n_s: int, n_t: int) -> np.ndarray:
        variance_s = np.diag(self.covariance_source_)
        if not self.standardize:
            return np.ones_like(variance_s)
        if self.standardize == "pooled":
            variance_t = np.diag(self.covariance_target_)
            variance = ((n_s - 1) * variance_s + (n_t - 1) * variance_t) / (
                n_s + n_t - 2
            )
        else:
            variance = variance_s
        scale = np.sqrt(variance)
        # A constant column keeps scale 1 instead of a division by zero.
        scale[
            scale <= np.finfo(np.float64).eps * np.maximum(np.abs(self.mean_source_), 1)
        ] = 1
        return scale

    def fit(self, Xs, Xt):
        """Learn the CORAL map from a source sample to a target sample.

        Parameters
        ----------
        Xs : array-like or DataFrame, shape (n_s, n_features)
            Source sample, at least two rows.
        Xt : array-like or DataFrame, shape (n_t, n_features)
            Target sample, at least two rows, same columns as ``Xs``.

        Returns
        -------
        self : CORAL
        """
        self._fit_checked(Xs, Xt)
        self._warn_if_singular(stacklevel=2)
        return self

    def _fit_checked(self, Xs, Xt) -> np.ndarray:
        """Check the inputs, fit, and return the source as a float64 array."""
        self._check_params()
        # _fit_arrays detects NaN and infinity from the covariances it computes.
        Xs_array, Xt_array, columns = check_pair(Xs, Xt, finite=False)
        self._fit_arrays(Xs_array, Xt_array, columns)
        self.n_features_in_ = Xs_array.shape[1]
        if columns is not None:
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return Xs_array

    def _fit_arrays(self, Xs: np.ndarray, Xt: np.ndarray, columns) -> None:
        self.mean_source_, self.covariance_source_ = _mean_and_covariance(Xs)
        self.mean_target_, self.covariance_target_ = _mean_and_covariance(Xt)
        for name, X, covariance in (
            ("Xs", Xs, self.covariance_source_),
            ("Xt", Xt, self.covariance_target_),
        ):
            if not np.isfinite(covariance).all():
                check_finite(X, name, columns)
                raise ValueError(
                    f"The covariance of {name} overflows float64; its values are too "
                    "large. Rescale the columns (e.g. divide by their SD) first."
                )
        self.scale_ = self._column_scale(Xs.shape[0], Xt.shape[0])

        scale_outer = np.outer(self.scale_, self.scale_)
        ridge = self.reg * np.eye(Xs.shape[1])
        C_s = self.covariance_source_ / scale_outer + ridge
        C_t = self.covariance_target_ / scale_outer + ridge
        with single_threaded_blas():
            matrix, self.n_truncated_ = _coloring_matrix(C_s, C_t, self.eig_floor)
        self.matrix_ = matrix * (
            self.scale_[np.newaxis, :] / self.scale_[:, np.newaxis]
        )

    def _warn_if_singular(self, stacklevel: int) -> None:
        if self.n_truncated_ and self.reg == 0:
            warnings.warn(
                f"The source covariance is singular ({self.n_truncated_} of "
                f"{self.n_features_in_} eigenvalues at or below the floor) and reg=0, "
                "so the aligned covariance cannot equal the target's; directions "
                "without source variance are mapped to zero. Set reg > 0 to "
                "regularise.",
                UserWarning,
                stacklevel=stacklevel + 1,
            )

    def transform(self, X):
        """Map source rows with the learned CORAL map.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_rows, n_features)
            Source rows in the units of the ``Xs`` passed to :meth:`fit`. One row
            is enough.

        Returns
        -------
        ndarray or DataFrame, shape (n_rows, n_features)
            Aligned rows. A DataFrame input gives a DataFrame with the same
            index and columns.
        """
        check_is_fitted(self, "matrix_")
        array, _ = check_matrix(X, "X", min_rows=1)
        if array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {array.shape[1]} column(s) but CORAL was fitted on "
                f"{self.n_features_in_}; pass rows with the fitted source's columns."
            )
        if hasattr(self, "feature_names_in_") and hasattr(X, "columns"):
            if list(X.columns) != list(self.feature_names_in_):
                raise ValueError(
                    f"X has columns {list(X.columns)[:5]} but CORAL was fitted on "
                    f"{list(self.feature_names_in_)[:5]}; select and order the "
                    "columns as in the fitted source."
                )
        return wrap_rows(self._transform_array(array), X)

    def _transform_array(self, X: np.ndarray) -> np.ndarray:
        with single_threaded_blas():
            if not self.center:
                return _apply_map(X, self.matrix_, None, None)
            return _apply_map(X, self.matrix_, self.mean_source_, self.mean_target_)

    def fit_transform(self, Xs, Xt):
        """Learn the map from ``Xs`` to ``Xt`` and return the aligned ``Xs``.

        Same result as ``fit(Xs, Xt).transform(Xs)``.
        """
        array = self._fit_checked(Xs, Xt)
        # The frame above this method is scikit-learn's set_output wrapper.
        self._warn_if_singular(stacklevel=3)
        return wrap_rows(self._transform_array(array), Xs)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the output feature names, which are the input feature names.

        Parameters
        ----------
        input_features : array-like of str, optional
            Defaults to ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str objects, shape (n_features,)
        """
        check_is_fitted(self, "matrix_")
        if input_features is not None:
            names = np.asarray(input_features, dtype=object)
            if names.shape != (self.n_features_in_,):
                raise ValueError(
                    f"input_features has {names.size} name(s) but CORAL was fitted on "
                    f"{self.n_features_in_} features; pass one name per feature."
                )
            return names
        if hasattr(self, "feature_names_in_"):
            return self.feature_names_in_.copy()
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)


def coral(
    Xs,
    Xt,
    reg: float = 1.0,
    *,
    center: bool = True,
    standardize=False,
    eig_floor: float | None = None,
):
    """Align the source covariance to the target covariance (CORAL).

    Computes

    .. math::

        X_s \\mapsto (X_s - \\mathbf{1}\\mu_s) C_s^{-1/2} C_t^{1/2} + \\mathbf{1}\\mu_t,
        \\qquad C_\\bullet = \\operatorname{cov}(X_\\bullet) + \\lambda I_d,

    after B. Sun, J. Feng and K. Saenko, "Return of Frustratingly Easy Domain
    Adaptation", AAAI 2016. With ``center=False`` the map is the paper's
    :math:`X_s C_s^{-1/2} C_t^{1/2}`. The cost is a column mean and one product
    :math:`X^\\top X` per domain, and one product of shape (n_s, d) x (d, d) that
    applies the combined map :math:`C_s^{-1/2} C_t^{1/2}` to the source.
    See :class:`CORAL` for the meaning of each parameter, in particular how
    ``reg`` damps the alignment and why it depends on the feature scale.

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
        Source sample.
    Xt : array-like or DataFrame, shape (n_t, d)
        Target sample with the same columns.
    reg : float, default=1.0
        Ridge :math:`\\lambda \\ge 0` added to both covariances, in squared
        feature units (or in units of the column variance with ``standardize``).
    center : bool, default=True
        Centre on the source mean and add the target mean.
    standardize : {False, True, "source", "pooled"}, default=False
        Scale both domains by the source (or pooled) column SD before aligning.
        The output is always in the original units.
    eig_floor : float, optional
        Eigenvalue floor of the source covariance; see :class:`CORAL`.

    Returns
    -------
    ndarray or DataFrame, shape (n_s, d)
        The aligned source. A DataFrame ``Xs`` gives a DataFrame with the same
        index and columns.

    Examples
    --------
    >>> import numpy as np
    >>> from tabtransfer import coral
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(scale=2.0, size=(1000, 1))
    >>> Xt = rng.normal(scale=1.0, size=(800, 1))
    >>> aligned = coral(Xs, Xt, reg=0.0)
    >>> round(float(aligned.std(ddof=1) / Xt.std(ddof=1)), 6)
    1.0
    """
    aligner = CORAL(reg, center=center, standardize=standardize, eig_floor=eig_floor)
    array = aligner._fit_checked(Xs, Xt)
    aligner._warn_if_singular(stacklevel=2)
    return wrap_rows(aligner._transform_array(array), Xs)
