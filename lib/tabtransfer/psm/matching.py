"""Nearest-neighbour matching on a one-dimensional score, in O(n log n).

Controls are sorted once by score. Each treated unit finds its neighbours with
``numpy.searchsorted`` and walks outwards from that position, so no
n_treated x n_controls distance matrix is ever built.

Conventions
-----------
- Distance is the absolute difference of scores, |eta_i - eta_j|, in the units of
  the score (logit of the propensity score in :func:`tabtransfer.psm.estimate_att`).
- With replacement, the match set J(i) of treated unit i contains every control whose
  distance is at most the distance of its k-th nearest control (Abadie and Imbens,
  2006). Controls tied at that distance all enter and share the weight,
  each getting 1/|J(i)|, so the result does not depend on the row order.
- Without replacement, treated units are matched greedily from the largest score
  down (the default order of MatchIt's nearest-neighbour matching, ``m.order =
  "largest"``). Each takes its nearest still-available control, k times. An exact tie is
  broken towards the lower score and then by ascending tie key (the row label in
  :func:`tabtransfer.psm.estimate_att`).
- A caliper removes every control farther than ``caliper_width``. A treated unit
  with no control inside it stays unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MatchResult",
    "caliper_width",
    "match_nearest",
    "neighbour_variance",
]


@dataclass(frozen=True, eq=False)
class MatchResult:
    """Match sets of the treated units and the matching weights they imply.

    Attributes
    ----------
    n_matches : numpy.ndarray of int, shape (n_treated,)
        |J(i)|, the number of controls matched to treated unit i (0 if unmatched).
    control_weights : numpy.ndarray of float, shape (n_controls,)
        K_j = sum over i with j in J(i) of 1/|J(i)|: the number of treated units
        that control j represents. The weights sum to the number of matched treated units.
    control_weight_squares : numpy.ndarray of float, shape (n_controls,)
        sum over i with j in J(i) of 1/|J(i)|^2, used by the Abadie-Imbens variance.
    caliper_width : float
        Maximum allowed distance, in score units (numpy.inf without a caliper).
    n_tied : int
        Matched treated units that had two or more controls at exactly the distance
        that decided their last match. With replacement, all of them are in J(i)
        and J(i) exceeds k. Without replacement, the tie was broken by the documented order.
    replace : bool
        Whether controls were matched with replacement.
    """

    n_matches: np.ndarray
    control_weights: np.ndarray
    control_weight_squares: np.ndarray
    caliper_width: float
    n_tied: int
    replace: bool
    # With replacement: J(i) is the slice control_order[match_start[i]:match_stop[i]].
    control_order: np.ndarray | None = None
    match_start: np.ndarray | None = None
    match_stop: np.ndarray | None = None
    # Without replacement: J(i) is pair_control[pair_treated == i].
    pair_treated: np.ndarray | None = None
    pair_control: np.ndarray | None = None

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask of treated units with at least one match, shape (n_treated,)."""
        return self.n_matches > 0

    def control_means(self, control_values) -> np.ndarray:
        """Average a control variable over each treated unit's match set.

        Parameters
        ----------
        control_values : array-like, shape (n_controls,)
            One value per control, in the order used for matching.

        Returns
        -------
        numpy.ndarray of float, shape (n_treated,)
            Mean of ``control_values`` over J(i), and 0.0 for unmatched units
            (filter with :attr:`matched`).
        """
        values = np.asarray(control_values, dtype=np.float64)
        if values.shape != self.control_weights.shape:
            raise ValueError(
                f"control_values has shape {values.shape}, but {self.control_weights.size} "
                "controls were matched; pass one value per control."
            )
        count = np.maximum(self.n_matches, 1)
        # Centre before the running sum so that differences of partial sums stay accurate.
        centre = float(values.mean())
        if self.replace:
            running = np.concatenate([[0.0], np.cumsum(values[self.control_order] - centre)])
            total = running[self.match_stop] - running[self.match_start]
        else:
            total = np.bincount(
                self.pair_treated,
                weights=values[self.pair_control] - centre,
                minlength=self.n_matches.size,
            )
        return np.where(self.matched, total / count + centre, 0.0)


def caliper_width(logit_treated, logit_control, caliper: float | None = 0.2, scale: str = "sd"):
    """Return the caliper in score units.

    Parameters
    ----------
    logit_treated, logit_control : array-like, shapes (n_treated,) and (n_controls,)
        Scores of the two groups.
    caliper : float or None, default=0.2
        Multiplier, or the width itself when ``scale="logit"``. None means no caliper.
    scale : {"sd", "logit"}, default="sd"
        ``"sd"``: ``caliper`` times the pooled standard deviation
        sqrt((s_1^2 + s_0^2) / 2) of the scores (sample variances, ddof=1). With the
        logit of the propensity score and 0.2, this is the rule of Austin (2011).
        ``"logit"``: ``caliper`` is already in score units.

    Returns
    -------
    float
        Width in score units, ``numpy.inf`` when ``caliper`` is None.

    References
    ----------
    Austin, P. C. (2011). Optimal caliper widths for propensity-score matching
    when estimating differences in means and differences in proportions in
    observational studies. Pharmaceutical Statistics 10(2), 150-161.
    """
    if caliper is None:
        return np.inf
    if not np.isfinite(caliper) or caliper <= 0:
        raise ValueError(
            f"caliper must be a positive finite number or None, got {caliper!r}. "
            "Pass caliper=None for matching without a caliper."
        )
    if scale == "logit":
        return float(caliper)
    if scale != "sd":
        raise ValueError(f"caliper_scale must be 'sd' or 'logit', got {scale!r}.")
    pooled_sd = np.sqrt(
        (np.var(logit_treated, ddof=1) + np.var(logit_control, ddof=1)) / 2.0
    )
    return float(caliper * pooled_sd)


def match_nearest(
    logit_treated,
    logit_control,
    n_neighbors: int = 1,
    replace: bool = True,
    caliper_width: float = np.inf,
    tie_key_treated=None,
    tie_key_control=None,
) -> MatchResult:
    """Match each treated unit to its nearest controls on a one-dimensional score.

    Parameters
    ----------
    logit_treated : array-like, shape (n_treated,)
        Scores of the treated units.
    logit_control : array-like, shape (n_controls,)
        Scores of the controls.
    n_neighbors : int, default=1
        k in 1:k matching.
    replace : bool, default=True
        Match with replacement (controls may serve several treated units, and ties
        share the weight) or greedily without replacement.
    caliper_width : float, default=numpy.inf
        Largest allowed distance, in score units.
    tie_key_treated, tie_key_control : array-like of int, optional
        Order used to break exact ties without replacement (smaller first).
        Defaults to the position. Ignored with replacement, where ties are shared.

    Returns
    -------
    MatchResult

    Raises
    ------
    ValueError
        If ``n_neighbors`` is not a positive integer, or, without replacement,
        if there are fewer than ``n_neighbors * n_treated`` controls.

    Notes
    -----
    Cost with replacement: O((n_t + n_c) log n_c + n_t k) time and O(n_t + n_c)
    memory. Without replacement a greedy loop over the treated units uses two
    union-find structures over the sorted controls, near O((n_t k + n_c) log n_c).
    """
    treated_scores = np.asarray(logit_treated, dtype=np.float64)
    control_scores = np.asarray(logit_control, dtype=np.float64)
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}.")
    n_neighbors = int(n_neighbors)
    if not (caliper_width > 0):
        raise ValueError(f"caliper_width must be positive, got {caliper_width!r}.")
    if replace:
        return _match_with_replacement(treated_scores, control_scores, n_neighbors, caliper_width)

    n_treated, n_controls = treated_scores.size, control_scores.size
    if n_controls < n_neighbors * n_treated:
        raise ValueError(
            f"Matching without replacement needs n_neighbors * n_treated = "
            f"{n_neighbors} * {n_treated} = {n_neighbors * n_treated} controls, but only "
            f"{n_controls} are available. Set replace=True, lower n_neighbors, or add controls."
        )
    if tie_key_treated is None:
        tie_key_treated = np.arange(n_treated)
    if tie_key_control is None:
        tie_key_control = np.arange(n_controls)
    return _match_without_replacement(
        treated_scores,
        control_scores,
        n_neighbors,
        caliper_width,
        np.asarray(tie_key_treated),
        np.asarray(tie_key_control),
    )


def _group_sorted(scores: np.ndarray, order=None):
    """Sort scores and collapse equal values into groups.

    Returns the sort order (stable unless ``order`` is given), the distinct
    values (G,), the count of each group (G,) and the start of each group in the
    sorted order (G + 1,).
    """
    if order is None:
        order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    is_new = np.empty(sorted_scores.size, dtype=bool)
    is_new[:1] = True
    np.not_equal(sorted_scores[1:], sorted_scores[:-1], out=is_new[1:])
    starts = np.flatnonzero(is_new)
    values = sorted_scores[starts]
    group_start = np.append(starts, sorted_scores.size)
    counts = np.diff(group_start)
    return order, values, counts, group_start


def _expand_groups(values, counts, query, lo, hi, have, k, width):
    """Grow intervals of groups [lo, hi) around each query until they contain k units.

    Each step takes the nearer of the next group on the left and on the right, so
    the interval always contains the nearest groups. Afterwards the group just
    outside on either side joins when its distance equals that of the last group
    taken, so controls tied at the k-th distance all enter. Groups farther than
    ``width`` never join. The loop runs at most k times because every group contains
    at least one unit.

    Returns the new lo, hi, unit count and a flag per query that is True when
    ties at the deciding distance were added or broken.
    """
    n_groups = values.size
    lo, hi, have = lo.copy(), hi.copy(), have.copy()
    last_distance = np.full(query.size, np.nan)
    tied = np.zeros(query.size, dtype=bool)
    active = np.flatnonzero(have < k)
    for _ in range(k):
        if active.size == 0:
            break
        left, right = lo[active] - 1, hi[active]
        q = query[active]
        d_left = np.where(left >= 0, q - values[np.maximum(left, 0)], np.inf)
        d_right = np.where(right < n_groups, values[np.minimum(right, n_groups - 1)] - q, np.inf)
        d_left[d_left > width] = np.inf
        d_right[d_right > width] = np.inf
        take_left = d_left <= d_right
        distance = np.minimum(d_left, d_right)
        found = np.isfinite(distance)

        go_left = active[take_left & found]
        go_right = active[~take_left & found]
        lo[go_left] -= 1
        have[go_left] += counts[lo[go_left]]
        have[go_right] += counts[hi[go_right]]
        hi[go_right] += 1
        last_distance[active[found]] = distance[found]
        active = active[found & (have[active] < k)]

    # Add the groups just outside the interval that tie with the last one taken.
    took_any = np.isfinite(last_distance)
    left, right = lo - 1, hi
    left_ties = took_any & (left >= 0)
    left_ties[left_ties] = (query[left_ties] - values[left[left_ties]]) == last_distance[left_ties]
    right_ties = took_any & (right < n_groups)
    right_ties[right_ties] = (values[right[right_ties]] - query[right_ties]) == last_distance[
        right_ties
    ]
    lo[left_ties] -= 1
    have[left_ties] += counts[lo[left_ties]]
    have[right_ties] += counts[hi[right_ties]]
    hi[right_ties] += 1
    tied |= left_ties | right_ties
    return lo, hi, have, tied


def _match_with_replacement(treated_scores, control_scores, k, width) -> MatchResult:
    order, values, counts, group_start = _group_sorted(control_scores)
    position = np.searchsorted(values, treated_scores, side="left")
    lo, hi, n_matches, tied_outside = _expand_groups(
        values,
        counts,
        treated_scores,
        position,
        position.copy(),
        np.zeros(treated_scores.size, dtype=np.int64),
        k,
        width,
    )
    matched = n_matches > 0
    # A tie also decides the match when the last group taken held several controls
    # and the k-th unit fell inside it (so J(i) contains more than k controls).
    n_tied = int(np.count_nonzero(matched & (tied_outside | (n_matches > k))))

    # Spread 1/|J(i)| (and its square) over the groups [lo, hi) with a difference array.
    share = np.where(matched, 1.0 / np.maximum(n_matches, 1), 0.0)
    increments = np.zeros(values.size + 1)
    np.add.at(increments, lo, share)
    np.add.at(increments, hi, -share)
    group_weight = np.cumsum(increments[:-1])
    increments[:] = 0.0
    np.add.at(increments, lo, share**2)
    np.add.at(increments, hi, -(share**2))
    group_weight_square = np.cumsum(increments[:-1])
    # Running sums leave rounding noise of order 1e-16 where the exact weight is 0.
    group_weight[np.abs(group_weight) < 1e-12] = 0.0
    group_weight_square[np.abs(group_weight_square) < 1e-24] = 0.0

    control_weights = np.empty(control_scores.size)
    control_weight_squares = np.empty(control_scores.size)
    control_weights[order] = np.repeat(group_weight, counts)
    control_weight_squares[order] = np.repeat(group_weight_square, counts)
    return MatchResult(
        n_matches=n_matches,
        control_weights=control_weights,
        control_weight_squares=control_weight_squares,
        caliper_width=float(width),
        n_tied=n_tied,
        replace=True,
        control_order=order,
        match_start=np.where(matched, group_start[lo], 0),
        match_stop=np.where(matched, group_start[hi], 0),
    )


class _NextAvailable:
    """Union-find over sorted positions that returns the nearest free position.

    ``find(i)`` returns the nearest available position at or after i (direction
    +1) or at or before i (direction -1), or -1 when there is none.
    """

    def __init__(self, size: int, direction: int):
        self.direction = direction
        self.parent = list(range(size + 1))  # index size (or 0 shifted) is the sentinel
        self.size = size

    def _slot(self, i: int) -> int:
        return i if self.direction > 0 else i + 1

    def find(self, i: int) -> int:
        if self.direction > 0 and i >= self.size:
            return -1
        if self.direction < 0 and i < 0:
            return -1
        slot = self._slot(i)
        root = slot
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[slot] != root:
            self.parent[slot], slot = root, self.parent[slot]
        if self.direction > 0:
            return root if root < self.size else -1
        return root - 1 if root > 0 else -1

    def remove(self, i: int) -> None:
        slot = self._slot(i)
        self.parent[slot] = slot + 1 if self.direction > 0 else slot - 1


def _match_without_replacement(treated_scores, control_scores, k, width, tie_t, tie_c):
    n_treated, n_controls = treated_scores.size, control_scores.size
    order = np.lexsort((tie_c, control_scores))
    sorted_scores = control_scores[order]
    treated_sequence = np.lexsort((tie_t, -treated_scores))
    positions = np.searchsorted(sorted_scores, treated_scores, side="left")

    scores = sorted_scores.tolist()
    going_right = _NextAvailable(n_controls, +1)
    going_left = _NextAvailable(n_controls, -1)
    pair_treated: list[int] = []
    pair_control: list[int] = []
    n_matches = np.zeros(n_treated, dtype=np.int64)
    n_tied = 0
    for i in treated_sequence.tolist():
        q = float(treated_scores[i])
        start = int(positions[i])
        decided_by_tie = False
        for _ in range(k):
            right = going_right.find(start)
            left = going_left.find(start - 1)
            d_right = scores[right] - q if right >= 0 else np.inf
            d_left = q - scores[left] if left >= 0 else np.inf
            if (left < 0 and right < 0) or min(d_left, d_right) > width:
                break
            take = left if d_left <= d_right else right
            distance = min(d_left, d_right)
            # A tie: the other side at the same distance, or another free control
            # with the same score next to the one taken.
            neighbour = going_right.find(take + 1) if take == right else going_left.find(take - 1)
            decided_by_tie = (d_left == d_right) or (
                neighbour >= 0 and abs(scores[neighbour] - q) == distance
            )
            going_right.remove(take)
            going_left.remove(take)
            pair_treated.append(i)
            pair_control.append(int(order[take]))
            n_matches[i] += 1
        n_tied += int(decided_by_tie and n_matches[i] > 0)

    pair_treated_array = np.asarray(pair_treated, dtype=np.int64)
    pair_control_array = np.asarray(pair_control, dtype=np.int64)
    share = 1.0 / n_matches[pair_treated_array] if pair_treated else np.empty(0)
    control_weights = np.bincount(pair_control_array, weights=share, minlength=n_controls)
    control_weight_squares = np.bincount(
        pair_control_array, weights=share**2, minlength=n_controls
    )
    return MatchResult(
        n_matches=n_matches,
        control_weights=control_weights,
        control_weight_squares=control_weight_squares,
        caliper_width=float(width),
        n_tied=n_tied,
        replace=False,
        pair_treated=pair_treated_array,
        pair_control=pair_control_array,
    )


def neighbour_variance(scores, outcomes, n_neighbors: int = 2, order=None) -> np.ndarray:
    """Estimate Var(Y | score) for each unit of one group by matching within the group.

    For unit j, S(j) contains the other units of the same group whose score distance
    is at most that of the ``n_neighbors``-th nearest (ties all enter), and

        sigma2_j = |S(j)| / (|S(j)| + 1) * (Y_j - mean of Y over S(j))^2,

    the estimator of Abadie and Imbens (2006) with the score as the
    matching variable. Each value is unbiased for sigma^2(x_j) when Y has constant
    variance near x_j. It is noisy alone but consistent when averaged.

    Parameters
    ----------
    scores : array-like, shape (n,)
        Scores of the units of one group (n >= 2).
    outcomes : array-like, shape (n,)
    n_neighbors : int, default=2
        Number of same-group neighbours J.
    order : numpy.ndarray of int, optional
        ``numpy.argsort(scores, kind="stable")`` when already computed, e.g.
        :attr:`MatchResult.control_order`. Any ascending order of the scores gives
        the same result up to rounding.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
    """
    scores = np.asarray(scores, dtype=np.float64)
    outcomes = np.asarray(outcomes, dtype=np.float64)
    if scores.size < 2:
        raise ValueError(
            f"The variance estimate needs at least 2 units in the group, got {scores.size}."
        )
    order, values, counts, group_start = _group_sorted(scores, order)
    groups = np.arange(values.size)
    lo, hi, have, _ = _expand_groups(
        values, counts, values, groups, groups + 1, counts - 1, n_neighbors, np.inf
    )
    centre = float(outcomes.mean())
    running = np.concatenate([[0.0], np.cumsum(outcomes[order] - centre)])
    group_total = running[group_start[hi]] - running[group_start[lo]]
    group_of_sorted = np.repeat(groups, counts)
    others_total = group_total[group_of_sorted] - (outcomes[order] - centre)
    n_others = have[group_of_sorted].astype(np.float64)
    residual = (outcomes[order] - centre) - others_total / n_others
    variance = np.empty(scores.size)
    variance[order] = n_others / (n_others + 1.0) * residual**2
    return variance
