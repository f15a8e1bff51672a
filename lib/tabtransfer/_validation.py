"""Input checks shared by the transfer-method and matching modules.

Every public function of the package calls these on entry, so bad input fails
early with a ``ValueError`` that names the argument, the bad value and the fix.
The names and signatures below are stable because other modules import them:

- :func:`check_matrix` converts one data matrix to a float64 array.
- :func:`check_finite` rejects NaN and infinity.
- :func:`check_same_columns` compares the columns of two matrices.
- :func:`check_pair` runs both checks on a source and a target matrix.
- :func:`check_binary_labels` converts a two-group indicator (domain, treatment).
- :func:`wrap_rows` puts a row-aligned result back into a DataFrame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "check_binary_labels",
    "check_finite",
    "check_matrix",
    "check_pair",
    "check_same_columns",
    "wrap_rows",
]


def check_matrix(
    X, name: str, min_rows: int = 2, *, finite: bool = True
) -> tuple[np.ndarray, pd.Index | None]:
    """Convert a data matrix to a finite float64 array of shape (n_rows, n_columns).

    Parameters
    ----------
    X : array-like or pandas.DataFrame, shape (n_rows, n_columns)
        Numeric data. Boolean and nullable numeric columns are accepted.
    name : str
        Argument name used in error messages, e.g. ``"Xs"``.
    min_rows : int, default=2
        Minimum number of rows. Two rows are the minimum for a covariance.
    finite : bool, default=True
        Whether to reject NaN and infinity here. A caller that computes a sum over
        every entry anyway (a mean or a covariance) may pass False and call
        :func:`check_finite` only when that result is not finite, which saves one
        pass over a large matrix.

    Returns
    -------
    array : numpy.ndarray of float64, shape (n_rows, n_columns)
        A new C-contiguous array when the input was not already one, else the input.
    columns : pandas.Index or None
        Column labels when ``X`` is a DataFrame, else None.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, has fewer than ``min_rows`` rows or no columns, has a
        non-numeric column, or contains NaN or infinity.
    """
    columns = None
    if isinstance(X, pd.Series):
        raise ValueError(
            f"{name} is a pandas Series (1-D) named {X.name!r}; a 2-D table of shape "
            f"(n_rows, n_columns) is required. Pass {name}.to_frame() for one column."
        )
    if isinstance(X, pd.DataFrame):
        columns = X.columns
        non_numeric = [
            column
            for column, dtype in X.dtypes.items()
            if not (
                pd.api.types.is_numeric_dtype(dtype)
                or pd.api.types.is_bool_dtype(dtype)
            )
        ]
        if non_numeric:
            raise ValueError(
                f"{name} has non-numeric columns {non_numeric}; encode them as numbers "
                "(e.g. pandas.get_dummies) or drop them."
            )
        array = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            array = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{name} could not be converted to a float64 array ({error}); "
                "pass a numeric numpy array or DataFrame."
            ) from error

    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_rows, n_columns), got shape "
            f"{array.shape}. "
            f"For a single feature use {name}.reshape(-1, 1)."
        )
    n_rows, n_columns = array.shape
    if n_rows < min_rows:
        raise ValueError(
            f"{name} has {n_rows} row(s), but at least {min_rows} are required; "
            "pass more rows."
        )
    if n_columns == 0:
        raise ValueError(f"{name} has no columns; pass at least one feature column.")
    if finite:
        check_finite(array, name, columns)
    return np.ascontiguousarray(array), columns


def check_finite(array: np.ndarray, name: str, columns=None) -> None:
    """Raise ValueError if a float array contains NaN or infinity.

    The message gives the count and the position of the first bad value.
    ``columns`` (optional) supplies column labels for the message.
    """
    # The sum is finite whenever every entry is, so the element-wise check (which
    # allocates a boolean array) runs only for NaN, infinity or overflow of the sum.
    if np.isfinite(array.sum()) or np.isfinite(array).all():
        return
    bad_rows, bad_columns = np.nonzero(~np.isfinite(array))
    label = columns[bad_columns[0]] if columns is not None else int(bad_columns[0])
    raise ValueError(
        f"{name} contains {int(bad_rows.size)} NaN or infinite value(s), the first "
        f"{array[bad_rows[0], bad_columns[0]]} at row position {int(bad_rows[0])} (from 0), column "
        f"{label!r}; impute or drop them before calling."
    )


def check_same_columns(Xs, Xt, names: Sequence[str] = ("Xs", "Xt")) -> None:
    """Raise ValueError unless two matrices have the same columns.

    The column counts must be equal. When both inputs are DataFrames, the column
    labels must also be equal and in the same order, because the methods pair
    columns by position.

    Parameters
    ----------
    Xs, Xt : array-like or pandas.DataFrame, 2-D
        The two matrices, raw or already converted by :func:`check_matrix`.
    names : pair of str, default=("Xs", "Xt")
        Argument names used in the error message.
    """
    n_s, n_t = np.shape(Xs)[-1], np.shape(Xt)[-1]
    if n_s != n_t:
        raise ValueError(
            f"{names[0]} has {n_s} column(s) but {names[1]} has {n_t}; both domains "
            "must have the same features in the same order."
        )
    if isinstance(Xs, pd.DataFrame) and isinstance(Xt, pd.DataFrame):
        if not Xs.columns.equals(Xt.columns):
            differing = [
                (a, b) for a, b in zip(Xs.columns, Xt.columns, strict=True) if a != b
            ]
            raise ValueError(
                f"{names[0]} and {names[1]} have different column labels, first "
                f"mismatch {differing[0]!r}; reorder with "
                f"{names[1]}[{names[0]}.columns]."
            )


def check_pair(
    Xs,
    Xt,
    min_rows: int = 2,
    names: Sequence[str] = ("Xs", "Xt"),
    *,
    finite: bool = True,
) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Check a source and a target matrix together with :func:`check_matrix`.

    Returns
    -------
    Xs_array, Xt_array : numpy.ndarray of float64
        The converted matrices, shapes (n_s, d) and (n_t, d).
    columns : pandas.Index or None
        Column labels of whichever input was a DataFrame (the source first).
    """
    Xs_array, columns_s = check_matrix(Xs, names[0], min_rows=min_rows, finite=finite)
    Xt_array, columns_t = check_matrix(Xt, names[1], min_rows=min_rows, finite=finite)
    check_same_columns(Xs, Xt, names=names)
    columns = columns_s if columns_s is not None else columns_t
    return Xs_array, Xt_array, columns


def check_binary_labels(labels, name: str, n_rows: int | None = None) -> np.ndarray:
    """Convert a two-group indicator to a boolean array.

    Parameters
    ----------
    labels : array-like, shape (n_rows,)
        0/1, False/True, or any two distinct values. With values other than
        0/1 and False/True, the larger value (in sort order) becomes True.
    name : str
        Argument name used in error messages, e.g. ``"domain"``.
    n_rows : int, optional
        Required length, usually the row count of the matching matrix.

    Returns
    -------
    numpy.ndarray of bool, shape (n_rows,)

    Raises
    ------
    ValueError
        If the labels are not 1-D, have the wrong length, contain missing values,
        or do not contain exactly two distinct values (for instance a domain
        classifier given rows of one domain only).
    """
    array = labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, got shape {array.shape}; pass a flat array."
        )
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {array.shape[0]} entries but the data have {n_rows} rows; "
            "pass one label per row."
        )
    if pd.isna(array).any():
        raise ValueError(f"{name} contains missing values; every row needs a label.")
    values = np.unique(array)
    if values.size != 2:
        raise ValueError(
            f"{name} must contain exactly two groups, got {values.size} distinct "
            f"value(s) {values.tolist()[:5]}; include rows of both groups "
            "(e.g. source and target)."
        )
    return array == values[1]


def wrap_rows(values: np.ndarray, like, columns=None):
    """Return ``values`` as a DataFrame indexed like ``like`` when ``like`` is one.

    Parameters
    ----------
    values : numpy.ndarray, shape (n_rows, n_columns)
        Row-aligned result, one row per row of ``like``.
    like : array-like or pandas.DataFrame
        The input the rows came from.
    columns : sequence, optional
        Column labels. Defaults to ``like.columns``.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        A DataFrame with the index of ``like`` if ``like`` is a DataFrame,
        else ``values`` unchanged.
    """
    if not isinstance(like, pd.DataFrame):
        return values
    return pd.DataFrame(
        values, index=like.index, columns=like.columns if columns is None else columns
    )
