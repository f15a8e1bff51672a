"""Real data sets used by the book, loaded offline from installed packages.

The LaLonde data come from the ``causaldata`` package (``nsw_mixtape`` and
``cps_mixtape``), which ships them as files, so nothing is downloaded.

- NSW: the Dehejia-Wahba subsample of the National Supported Work Demonstration,
  a randomised job-training experiment: 185 treated and 260 control men with
  1974 earnings recorded (Dehejia and Wahba, 1999; LaLonde, 1986).
- CPS: 15,992 men from the Current Population Survey ("CPS-1" of LaLonde, 1986),
  a non-experimental comparison group, all with ``treat = 0``.

Earnings ``re74``, ``re75``, ``re78`` are annual earnings in 1982 US dollars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "DEHEJIA_WAHBA_COVARIATES",
    "LALONDE_COLUMNS",
    "add_dehejia_wahba_terms",
    "load_lalonde",
]

#: Columns returned by :func:`load_lalonde`, in order.
LALONDE_COLUMNS = [
    "treat",
    "age",
    "educ",
    "black",
    "hisp",
    "married",
    "nodegree",
    "re74",
    "re75",
    "re78",
]

#: Propensity-model covariates after :func:`add_dehejia_wahba_terms`: the
#: Dehejia and Wahba (1999) set with squares of age, education and the two
#: pre-programme earnings, zero-earnings indicators and education x 1974 earnings.
DEHEJIA_WAHBA_COVARIATES = [
    "age",
    "age2",
    "educ",
    "educ2",
    "married",
    "nodegree",
    "black",
    "hisp",
    "re74",
    "re75",
    "re74_2",
    "re75_2",
    "u74",
    "u75",
    "educ_re74",
]

_SAMPLES = ("experimental", "cps", "all")


def _load_causaldata(name: str) -> pd.DataFrame:
    try:
        import causaldata
    except ImportError as error:  # pragma: no cover - listed in requirements.txt
        raise ImportError(
            "The LaLonde data come from the 'causaldata' package, which is not "
            "installed. Install the course requirements: pip install -r requirements.txt"
        ) from error
    module = getattr(causaldata, name)
    return module.load_pandas().data


def _clean(frame: pd.DataFrame, sample: str) -> pd.DataFrame:
    # causaldata stores int8 and float32 columns; float64 keeps squares and
    # products of earnings exact enough (float32 has only about 7 digits).
    cleaned = frame.rename(columns={"marr": "married"})[LALONDE_COLUMNS].astype(np.float64)
    cleaned["treat"] = cleaned["treat"].astype(np.int64)
    cleaned.insert(0, "sample", sample)
    return cleaned


def load_lalonde(sample: str = "cps") -> pd.DataFrame:
    """Load the LaLonde job-training data.

    Parameters
    ----------
    sample : {"cps", "experimental", "all"}, default="cps"
        ``"experimental"``: the NSW experiment, 185 treated and 260 randomised
        controls. ``"cps"``: the 185 NSW treated units with the 15,992 CPS
        controls, the observational design of LaLonde (1986). ``"all"``: the
        NSW experiment and the CPS controls, with ``sample`` telling them apart.

    Returns
    -------
    pandas.DataFrame
        Columns ``sample`` ("nsw" or "cps"), ``treat`` (int, 1 = treated), and the
        float64 columns ``age`` (years), ``educ`` (years of schooling), ``black``,
        ``hisp``, ``married``, ``nodegree`` (0/1), ``re74``, ``re75``, ``re78``
        (earnings, 1982 US dollars). The index is a fresh RangeIndex.

    References
    ----------
    LaLonde, R. J. (1986). Evaluating the econometric evaluations of training
    programs with experimental data. American Economic Review 76(4), 604-620.
    Dehejia, R. H. and Wahba, S. (1999). Causal effects in nonexperimental
    studies: reevaluating the evaluation of training programs. Journal of the
    American Statistical Association 94(448), 1053-1062.
    """
    if sample not in _SAMPLES:
        raise ValueError(f"sample must be one of {list(_SAMPLES)}, got {sample!r}.")
    nsw = _clean(_load_causaldata("nsw_mixtape"), "nsw")
    if sample == "experimental":
        return nsw.reset_index(drop=True)
    cps = _clean(_load_causaldata("cps_mixtape"), "cps")
    if sample == "cps":
        nsw = nsw[nsw["treat"] == 1]
    return pd.concat([nsw, cps], ignore_index=True)


def add_dehejia_wahba_terms(data: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``data`` with the extra terms of :data:`DEHEJIA_WAHBA_COVARIATES`.

    Adds ``age2`` = age^2, ``educ2`` = educ^2, ``re74_2`` = re74^2, ``re75_2`` =
    re75^2 (dollars squared), ``u74`` = 1{re74 = 0}, ``u75`` = 1{re75 = 0} and
    ``educ_re74`` = educ x re74. The input frame is not modified.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`load_lalonde`, or any frame with columns ``age``,
        ``educ``, ``re74`` and ``re75``.

    Returns
    -------
    pandas.DataFrame
    """
    needed = ["age", "educ", "re74", "re75"]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks columns {missing}; load it with load_lalonde().")
    out = data.copy()
    age = out["age"].astype(np.float64)
    educ = out["educ"].astype(np.float64)
    re74 = out["re74"].astype(np.float64)
    re75 = out["re75"].astype(np.float64)
    out["age2"] = age**2
    out["educ2"] = educ**2
    out["re74_2"] = re74**2
    out["re75_2"] = re75**2
    out["u74"] = (re74 == 0).astype(np.float64)
    out["u75"] = (re75 == 0).astype(np.float64)
    out["educ_re74"] = educ * re74
    return out
