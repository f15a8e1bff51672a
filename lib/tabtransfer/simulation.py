r"""Simulator of the course data: e-commerce users (source) and supermarket users (target).

The data are simulated on purpose. Because the simulator keeps every user's latent
price sensitivity, true probabilities and true treatment effect, the course can
measure the bias of an estimate against a known truth, which real data never allow.

Generating process
------------------
For user :math:`u` in domain :math:`D \in \{s, t\}`:

* Age :math:`\text{age}_u \sim \mathcal N(\mu_D, \sigma_D^2)`, clipped to [18, 80] and
  rounded; source :math:`(\mu, \sigma) = (32, 9)`, target :math:`(50, 12)`.
  Standardised age :math:`a_u = (\text{age}_u - 40) / 12`.
* Monthly income in thousand yuan,
  :math:`\log \text{income}_u = \log m_D + 0.01(\text{age}_u - 40) + 0.5\,\varepsilon_u`,
  with median :math:`m_s = 9`, :math:`m_t = 7`. Standardised
  :math:`r_u = \log(\text{income}_u / 8) / 0.5`.
* City: one of :data:`CITIES`, drawn from the domain's city weights.
* Visits per month, :math:`\log \text{visit\_freq}_u \sim \mathcal N(\log f_D, \tau_D^2)`,
  source :math:`(f, \tau) = (6, 0.8)` (spread from rare to very frequent buyers),
  target :math:`(2, 0.35)` (a new shop: few, infrequent visits).
* Latent price sensitivity :math:`\psi_u \sim \mathcal N(0, 1)` in both domains. Shops
  do not observe it; it is kept in the column ``price_sensitivity`` for oracles.
* Purchases over the last ``months`` months in the 120 categories of
  :data:`CATEGORIES` (8 departments of 15 categories, 3 of them value lines).
  Counts are Poisson, :math:`n_{uc} \sim \text{Poisson}(N_u\, p_{uc})` with
  :math:`N_u = \text{months} \cdot \text{visit\_freq}_u \cdot k_D` items expected
  (:math:`k_s = 1.5`, :math:`k_t = 4` items per visit), and
  :math:`p_{uc} \propto w_{D,d(c)}\, q_c \exp(\delta_{d(c)} a_u + \eta_{u,d(c)} + \gamma \psi_u v_c)\, b_D^{v_c}`.
  The terms are:

  - :math:`w_D`, the domain's department mix;
  - :math:`q_c \propto (j_c + 1)^{-0.7}`, the popularity of the :math:`j`-th
    category inside its department;
  - :math:`\delta_d`, the age taste of the department;
  - :math:`\eta_{ud} \sim \mathcal N(0, 0.5^2)`, a personal taste;
  - :math:`v_c = 1` for value lines and 0 otherwise;
  - :math:`\gamma = 1.0`, how strongly price sensitivity shows in the basket;
  - :math:`b_D`, the shop's promotion of value lines: :math:`b_s = 1`, and
    :math:`b_t` = ``value_boost`` (default 4).

* Promotion participation (the label), the same rule in both domains:

  .. math::

     \operatorname{logit} P(y_u = 1) = -0.4 + 1.5(-a_u r_u) - 0.5 a_u + 0.5 r_u
     + 2.0\, \psi_u + 0.3 \log(\text{visit\_freq}_u / 4) + c_{\text{city}(u)}.

  The product :math:`-a_u r_u` makes young, high-income users the likeliest to join.
* Target only: the stored-value promotion (treatment) and next-month spend in yuan,

  .. math::

     \operatorname{logit} e_u &= -1.2 + 0.03(\text{age}_u - 50)
        + 0.8 \log(\text{visit\_freq}_u / 2) + 1.2\, \psi_u, \quad T_u \sim \text{Bernoulli}(e_u),\\
     Y_u(0) &= \max\bigl(0,\ 300 + 120 \log(\text{visit\_freq}_u / 2) + 1.5(\text{age}_u - 50)
        - 60\, \psi_u + \epsilon_u\bigr), \quad \epsilon_u \sim \mathcal N(0, 50^2),\\
     Y_u(1) &= \max\bigl(0,\ Y_u(0) + 60 + 20\, \psi_u\bigr).

  Price-sensitive users take the promotion more often and spend less, so
  :math:`\psi` confounds the effect; age and visit frequency alone cannot remove it,
  but the purchase basket reveals it. The true effect :math:`Y_u(1) - Y_u(0)` is kept
  per user, so the true ATT is known.

Why the source model fails on the target
----------------------------------------
A model trained on the source reads price sensitivity from the share of value lines
in the basket. The supermarket promotes value lines (``value_boost``), which moves
every target user along exactly that direction, so the source model overrates their
participation. With ``value_boost=1`` the accuracy drop on the target is small and
changes sign from seed to seed; the boost is the design choice that makes the drop
hold for every seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "CATEGORIES",
    "CITIES",
    "DEPARTMENTS",
    "DEPARTMENT_MIXES",
    "CourseData",
    "simulate_course_data",
]

#: Departments: (code, Chinese name, age taste delta_d).
DEPARTMENTS = pd.DataFrame(
    [
        ("appliance", "家电", 0.1),
        ("digital", "数码", -0.4),
        ("apparel", "服饰", -0.3),
        ("beauty", "美妆个护", -0.2),
        ("household", "日用百货", 0.2),
        ("fresh", "生鲜", 0.4),
        ("grocery", "粮油食品", 0.3),
        ("snacks", "零食饮料", -0.3),
    ],
    columns=["department", "department_zh", "age_taste"],
)

_CATEGORIES_PER_DEPARTMENT = 15
_VALUE_LINES_PER_DEPARTMENT = 3


def _build_categories() -> pd.DataFrame:
    rows = []
    for department, department_zh, _ in DEPARTMENTS.itertuples(index=False):
        n_regular = _CATEGORIES_PER_DEPARTMENT - _VALUE_LINES_PER_DEPARTMENT
        for j in range(_CATEGORIES_PER_DEPARTMENT):
            is_value = j >= n_regular
            if is_value:
                name_zh = f"{department_zh}·特价{j - n_regular + 1}"
            else:
                name_zh = f"{department_zh}·{j + 1:02d}"
            rows.append(
                {
                    "column": f"buy_{department}_{j + 1:02d}",
                    "department": department,
                    "department_zh": department_zh,
                    "name_zh": name_zh,
                    "rank_in_department": j,
                    "is_value": is_value,
                }
            )
    return pd.DataFrame(rows)


#: The 120 purchase categories; ``column`` names the count column in the data.
CATEGORIES = _build_categories()

#: Department mixes w_D (shares of purchases) of the shops the course simulates.
DEPARTMENT_MIXES: dict[str, dict[str, float]] = {
    "ecommerce": {
        "appliance": 0.16, "digital": 0.18, "apparel": 0.18, "beauty": 0.14,
        "household": 0.12, "fresh": 0.04, "grocery": 0.08, "snacks": 0.10,
    },
    "supermarket": {
        "appliance": 0.02, "digital": 0.02, "apparel": 0.04, "beauty": 0.08,
        "household": 0.22, "fresh": 0.26, "grocery": 0.20, "snacks": 0.16,
    },
    "appliance": {
        "appliance": 0.60, "digital": 0.32, "apparel": 0.01, "beauty": 0.02,
        "household": 0.03, "fresh": 0.0, "grocery": 0.01, "snacks": 0.01,
    },
    "fresh_food": {
        "appliance": 0.0, "digital": 0.0, "apparel": 0.0, "beauty": 0.01,
        "household": 0.04, "fresh": 0.65, "grocery": 0.20, "snacks": 0.10,
    },
}

#: Cities and their effect c_city on the participation logit.
CITIES = pd.DataFrame(
    [
        ("北京", -0.4), ("上海", -0.3), ("广州", 0.0), ("深圳", -0.1),
        ("成都", 0.4), ("杭州", 0.1), ("武汉", 0.3), ("西安", 0.2),
        ("重庆", 0.5), ("南京", 0.0), ("长沙", 0.6), ("郑州", 0.2),
    ],
    columns=["city", "city_effect"],
)

# City weights: the source sells nationwide, the new supermarket opened in Chengdu.
_SOURCE_CITY_WEIGHTS = np.array([14, 14, 10, 10, 8, 8, 7, 7, 6, 6, 5, 5], dtype=float)
_TARGET_CITY_WEIGHTS = np.array([1, 1, 1, 1, 70, 1, 2, 2, 15, 1, 3, 2], dtype=float)


@dataclass(frozen=True)
class _DomainSpec:
    """Constants of one domain's generating process."""

    age_mean: float
    age_sd: float
    income_median: float
    visit_median: float
    visit_log_sd: float
    items_per_visit: float
    value_boost: float
    city_weights: np.ndarray
    department_mix: Mapping[str, float]


@dataclass
class CourseData:
    """Simulated source and target domains of the course.

    Attributes
    ----------
    source : pandas.DataFrame
        E-commerce users (source domain), one row per user, indexed by ``user_id``.
    target : pandas.DataFrame
        Supermarket users (target domain). Adds ``propensity`` (true P(T=1 | user)),
        ``treatment``, ``spend`` (next-month spend in yuan), ``spend_if_untreated``,
        ``spend_if_treated`` and ``true_effect`` (yuan).
    categories : pandas.DataFrame
        The purchase categories, one row per count column (see :data:`CATEGORIES`).
    params : dict
        The arguments the data were simulated with.
    """

    source: pd.DataFrame
    target: pd.DataFrame
    categories: pd.DataFrame = field(repr=False)
    params: dict = field(default_factory=dict)

    @property
    def purchase_columns(self) -> list[str]:
        """Names of the purchase-count columns, in category order."""
        return self.categories["column"].tolist()

    @property
    def true_att(self) -> float:
        """True average treatment effect on the treated in the target, in yuan."""
        treated = self.target["treatment"] == 1
        return float(self.target.loc[treated, "true_effect"].mean())


# Coefficients of the generating process (see the module docstring).
PARTICIPATION_COEF = {
    "intercept": -0.4,
    "interaction": 1.5,  # times -a*r
    "age": -0.5,  # times a
    "income": 0.5,  # times r
    "price_sensitivity": 2.0,
    "log_visit": 0.3,  # times log(visit_freq / 4)
}
TREATMENT_COEF = {
    "intercept": -1.2,
    "age": 0.03,  # per year above 50
    "log_visit": 0.8,  # times log(visit_freq / 2)
    "price_sensitivity": 1.2,
}
SPEND_COEF = {
    "intercept": 300.0,
    "log_visit": 120.0,
    "age": 1.5,
    "price_sensitivity": -60.0,
    "noise_sd": 50.0,
    "effect": 60.0,
    "effect_price_sensitivity": 20.0,
}
BASKET_PRICE_SENSITIVITY = 1.0  # gamma
PERSONAL_TASTE_SD = 0.5


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}. Pass a whole number such as {minimum * 10}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}. Simulate at least {minimum} users.")
    return int(value)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number above 0, got {value!r}.")
    return float(value)


def _resolve_mix(mix, name: str) -> dict[str, float]:
    if isinstance(mix, str):
        if mix not in DEPARTMENT_MIXES:
            raise ValueError(
                f"Unknown {name} {mix!r}. Use one of {sorted(DEPARTMENT_MIXES)} or a dict "
                "mapping department codes to shares."
            )
        return dict(DEPARTMENT_MIXES[mix])
    if not isinstance(mix, Mapping):
        raise ValueError(f"{name} must be a preset name or a dict of department shares, got {mix!r}.")
    known = set(DEPARTMENTS["department"])
    unknown = set(mix) - known
    if unknown:
        raise ValueError(f"Unknown departments in {name}: {sorted(unknown)}. Known: {sorted(known)}.")
    shares = {d: float(mix.get(d, 0.0)) for d in DEPARTMENTS["department"]}
    bad = {d: s for d, s in shares.items() if not np.isfinite(s) or s < 0}
    if bad:
        raise ValueError(f"Department shares in {name} must be finite and non-negative, got {bad}.")
    if sum(shares.values()) <= 0:
        raise ValueError(f"Department shares in {name} sum to 0. Give at least one department a positive share.")
    return shares


def _category_weights(mix: Mapping[str, float]) -> np.ndarray:
    """Return w_{D,d(c)} * q_c for every category, before user-specific factors."""
    popularity = (CATEGORIES["rank_in_department"].to_numpy() + 1.0) ** -0.7
    department_popularity = pd.Series(popularity).groupby(CATEGORIES["department"]).transform("sum").to_numpy()
    share = CATEGORIES["department"].map(mix).to_numpy(dtype=float)
    return share * popularity / department_popularity


def _simulate_users(spec: _DomainSpec, n: int, months: float, rng: np.random.Generator, prefix: str) -> pd.DataFrame:
    age = np.clip(np.round(rng.normal(spec.age_mean, spec.age_sd, n)), 18, 80)
    income = np.exp(np.log(spec.income_median) + 0.01 * (age - 40) + 0.5 * rng.standard_normal(n))
    city_index = rng.choice(len(CITIES), size=n, p=spec.city_weights / spec.city_weights.sum())
    visit_freq = np.exp(np.log(spec.visit_median) + spec.visit_log_sd * rng.standard_normal(n))
    price_sensitivity = rng.standard_normal(n)

    # Purchase counts: Poisson(N_u * p_uc), p_uc as in the module docstring.
    a = (age - 40) / 12
    departments = DEPARTMENTS["department"].tolist()
    department_of = CATEGORIES["department"].map({d: i for i, d in enumerate(departments)}).to_numpy()
    age_taste = DEPARTMENTS["age_taste"].to_numpy()
    taste = PERSONAL_TASTE_SD * rng.standard_normal((n, len(departments)))
    is_value = CATEGORIES["is_value"].to_numpy(dtype=float)
    log_weight = (
        np.log(np.maximum(_category_weights(spec.department_mix), 1e-300))[None, :]
        + (a[:, None] * age_taste[None, :] + taste)[:, department_of]
        + BASKET_PRICE_SENSITIVITY * price_sensitivity[:, None] * is_value[None, :]
        + np.log(spec.value_boost) * is_value[None, :]
    )
    log_weight -= log_weight.max(axis=1, keepdims=True)
    p = np.exp(log_weight)
    p /= p.sum(axis=1, keepdims=True)
    expected_items = months * visit_freq * spec.items_per_visit
    counts = rng.poisson(expected_items[:, None] * p)

    r = np.log(income / 8) / 0.5
    c = PARTICIPATION_COEF
    city_effect = CITIES["city_effect"].to_numpy()[city_index]
    logit = (
        c["intercept"]
        + c["interaction"] * (-a * r)
        + c["age"] * a
        + c["income"] * r
        + c["price_sensitivity"] * price_sensitivity
        + c["log_visit"] * np.log(visit_freq / 4)
        + city_effect
    )
    p_participate = 1 / (1 + np.exp(-logit))
    participate = (rng.random(n) < p_participate).astype(np.int64)

    frame = pd.DataFrame(
        {
            "age": age.astype(np.int64),
            "income": income,
            "city": pd.Categorical(CITIES["city"].to_numpy()[city_index], categories=CITIES["city"]),
            "visit_freq": visit_freq,
        },
        index=pd.Index([f"{prefix}{i:06d}" for i in range(n)], name="user_id"),
    )
    purchases = pd.DataFrame(counts.astype(np.int64), columns=CATEGORIES["column"].tolist(), index=frame.index)
    extra = pd.DataFrame(
        {"price_sensitivity": price_sensitivity, "p_participate": p_participate, "participate": participate},
        index=frame.index,
    )
    return pd.concat([frame, purchases, extra], axis=1)


def _add_treatment(target: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(target)
    age = target["age"].to_numpy(dtype=float)
    log_visit = np.log(target["visit_freq"].to_numpy() / 2)
    psi = target["price_sensitivity"].to_numpy()
    t = TREATMENT_COEF
    logit = t["intercept"] + t["age"] * (age - 50) + t["log_visit"] * log_visit + t["price_sensitivity"] * psi
    propensity = 1 / (1 + np.exp(-logit))
    treatment = (rng.random(n) < propensity).astype(np.int64)

    s = SPEND_COEF
    raw_y0 = (
        s["intercept"]
        + s["log_visit"] * log_visit
        + s["age"] * (age - 50)
        + s["price_sensitivity"] * psi
        + s["noise_sd"] * rng.standard_normal(n)
    )
    y0 = np.maximum(raw_y0, 0.0)
    y1 = np.maximum(raw_y0 + s["effect"] + s["effect_price_sensitivity"] * psi, 0.0)
    out = target.copy()
    out["propensity"] = propensity
    out["treatment"] = treatment
    out["spend_if_untreated"] = y0
    out["spend_if_treated"] = y1
    out["true_effect"] = y1 - y0
    out["spend"] = np.where(treatment == 1, y1, y0)
    return out


def simulate_course_data(
    n_source: int = 100_000,
    n_target: int = 1_000,
    *,
    seed: int = 0,
    source_mix: str | Mapping[str, float] = "ecommerce",
    target_mix: str | Mapping[str, float] = "supermarket",
    value_boost: float = 4.0,
    months: float = 6.0,
) -> CourseData:
    """Simulate the course's source (e-commerce) and target (supermarket) users.

    The generating process and every coefficient are in the module docstring
    (:mod:`tabtransfer.simulation`) and in the book's data appendix.

    Parameters
    ----------
    n_source, n_target : int
        Number of users in each domain, at least 2.
    seed : int
        Seed of the random generator. The same arguments give the same frames.
    source_mix, target_mix : str or dict
        Department mix of each shop: a key of :data:`DEPARTMENT_MIXES`
        (``"ecommerce"``, ``"supermarket"``, ``"appliance"``, ``"fresh_food"``) or a
        dict mapping department codes to non-negative shares.
    value_boost : float
        Factor by which the target shop's promotion of value lines raises their
        purchase rate (1 means no promotion). Must be above 0.
    months : float
        Length of the purchase history in months. Must be above 0.

    Returns
    -------
    CourseData
        ``source`` and ``target`` DataFrames; the target carries the treatment,
        the outcome and every user's true effect.

    Raises
    ------
    ValueError
        If a size is not an integer of at least 2, a rate is not positive, or a mix
        is unknown or invalid.
    """
    n_source = _check_count(n_source, "n_source", 2)
    n_target = _check_count(n_target, "n_target", 2)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    value_boost = _check_positive(value_boost, "value_boost")
    months = _check_positive(months, "months")
    source_shares = _resolve_mix(source_mix, "source_mix")
    target_shares = _resolve_mix(target_mix, "target_mix")

    source_spec = _DomainSpec(32, 9, 9, 6, 0.8, 1.5, 1.0, _SOURCE_CITY_WEIGHTS, source_shares)
    target_spec = _DomainSpec(50, 12, 7, 2, 0.35, 4.0, value_boost, _TARGET_CITY_WEIGHTS, target_shares)

    source_rng, target_rng, treatment_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    source = _simulate_users(source_spec, n_source, months, source_rng, "S")
    target = _simulate_users(target_spec, n_target, months, target_rng, "T")
    target = _add_treatment(target, treatment_rng)
    params = {
        "n_source": n_source,
        "n_target": n_target,
        "seed": int(seed),
        "source_mix": source_mix,
        "target_mix": target_mix,
        "value_boost": value_boost,
        "months": months,
    }
    return CourseData(source=source, target=target, categories=CATEGORIES.copy(), params=params)
