"""A trained linear head ``Wf + b`` in exact arithmetic, and its geometry (slab widths, boundary distances).

float32 features, weights and biases are dyadic rationals (``Fraction(float)`` is exact), so
they become integers over one common power of two and every comparison is made in Python
integers. The summaries here (slab widths, distances to the decision boundaries, the bias
against class frequency) describe the head that ``fcc_train.analysis.head_theory`` checks point by point.

>>> M, K = dyadic([0.75, -2.0, 0.0])
>>> [int(m) for m in M], K
([3, -8, 0], 2)
>>> head = ExactHead.build(np.array([[1.0, 0.5]]), np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([0.0, 0.25]))
>>> head.s(0, 0, 1), head.B(0, 1), row_argmax(head.numerators([Fraction(1)]))
(Fraction(0, 1), Fraction(-1, 4), [1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from fcc_theory import margins
from fcc_theory.errors import UserError
from fcc_theory.rational import format_rational

__all__ = [
    "AnalysisError",
    "ExactHead",
    "bias_vs_frequency",
    "boundary_distances",
    "dyadic",
    "float_argmax",
    "row_argmax",
    "slab_widths",
]


class AnalysisError(UserError):
    """Input the analysis cannot use (one line)."""


def dyadic(values: Any) -> tuple[np.ndarray, int]:
    """Exact integers ``M`` (object array) and ``K >= 0`` with ``values == M / 2**K`` entrywise.

    Every finite float32/float64 is a dyadic rational, so this is exact
    (``Fraction(float(v)) == M / 2**K``).
    """
    a = np.asarray(values, dtype=np.float64)  # float32 -> float64 is exact
    if not np.all(np.isfinite(a)):
        raise AnalysisError("features or head parameters contain NaN/inf; the checkpoint is broken, retrain or pick another")
    m, e = np.frexp(a)  # a = m * 2**e with 0.5 <= |m| < 1: m * 2**53 is an integer
    mant = (m * 2.0**53).astype(np.int64)
    expo = e.astype(np.int64) - 53
    nz = mant != 0
    # strip trailing zero bits so the integers stay small
    low = np.where(nz, mant & -mant, 1)
    tz = np.round(np.log2(low.astype(np.float64))).astype(np.int64)
    mant = mant >> tz
    expo = expo + tz
    K = max(0, int(-expo[nz].min())) if nz.any() else 0
    out = np.zeros(a.shape, dtype=object)
    flat_out = out.reshape(-1)
    for idx in np.flatnonzero(nz):
        flat_out[idx] = int(mant.flat[idx]) << int(expo.flat[idx] + K)
    return out, K


@dataclass(frozen=True)
class ExactHead:
    """Exact ``Wf`` and ``b`` of a linear head on N features, as integers over ``2**K``."""

    S: np.ndarray  # object (N, C): (W f_n)_c * 2**K
    Bv: np.ndarray  # object (C,): b_c * 2**K
    K: int
    weight: np.ndarray  # float64 copy of W (for widths and error bounds only)
    bias_free: bool

    @classmethod
    def build(cls, features: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> ExactHead:
        F, kf = dyadic(features)
        Wi, kw = dyadic(weight)
        S = F.dot(Wi.T)  # exact: Python integers
        ks = kf + kw
        if bias is None:
            Bv, kb = np.zeros(Wi.shape[0], dtype=object), 0
        else:
            Bv, kb = dyadic(bias)
        K = max(ks, kb)
        S = S * (1 << (K - ks))
        Bv = Bv * (1 << (K - kb))
        return cls(S, Bv, K, np.asarray(weight, np.float64), bias is None)

    @property
    def denom(self) -> int:
        return 1 << self.K

    def numerators(self, taus: Sequence[Fraction]) -> np.ndarray:
        """Row n holds ``τ_n W f_n + b`` times the positive constant ``q_n 2**K`` (τ_n = p_n/q_n)."""
        p = np.array([t.numerator for t in taus], dtype=object)[:, None]
        q = np.array([t.denominator for t in taus], dtype=object)[:, None]
        return p * self.S + q * self.Bv[None, :]

    def s(self, n: int, i: int, j: int) -> Fraction:
        """s_ij = (w_i - w_j)·f_n exactly."""
        return Fraction(self.S[n, i] - self.S[n, j], self.denom)

    def B(self, i: int, j: int) -> Fraction:
        """B_ij = b_i - b_j exactly (the margin at f = 0)."""
        return Fraction(self.Bv[i] - self.Bv[j], self.denom)


def row_argmax(rows: np.ndarray) -> list[int | None]:
    """``margins.argmax_or_none`` on each row (exact; None on a tie for the maximum)."""
    return [margins.argmax_or_none(list(r)) for r in rows]


def float_argmax(logits: np.ndarray) -> list[int | None]:
    """Argmax of float logits with the same tie convention (None when the maximum is shared)."""
    lg = np.asarray(logits)
    top = lg.max(axis=1, keepdims=True)
    shared = (lg == top).sum(axis=1) > 1
    am = lg.argmax(axis=1)
    return [None if sh else int(a) for a, sh in zip(am, shared, strict=True)]


def slab_widths(head: ExactHead, taus: list[Fraction]) -> dict[str, Any]:
    """Width of the pair (i, j) slab at τ_i: |B_ij|(1 - 1/τ_i) in s units and that over ||w_i - w_j|| in
    feature space (the distance between the pair's boundaries at scale 1 and at τ_i). Per class: min / median / max over j."""
    C = head.S.shape[1]
    per_class = []
    matrix = []
    for i in range(C):
        row = []
        t = taus[i]
        for j in range(C):
            if i == j:
                row.append(0.0)
                continue
            sw = abs(head.B(i, j)) * abs(1 - 1 / t)
            norm = float(np.linalg.norm(head.weight[i] - head.weight[j]))
            row.append(float(sw) / norm if norm > 0 else math.inf)
        matrix.append(row)
        vals = sorted(v for j, v in enumerate(row) if j != i)
        per_class.append(
            {
                "class": i,
                "tau": format_rational(t),
                "min": vals[0] if vals else 0.0,
                "median": vals[len(vals) // 2] if vals else 0.0,
                "max": vals[-1] if vals else 0.0,
            }
        )
    return {"per_class": per_class, "matrix": matrix, "units": "feature space, |B_ij|(1-1/tau_i)/||w_i-w_j||"}


def boundary_distances(head: ExactHead, labels: np.ndarray, cls_one: list[int | None], C: int) -> dict[str, Any]:
    """Context for the slab widths: each point's feature-space distance to the nearest boundary of its
    unscaled winner c′, min_j (s_{c′j} + B_{c′j}) / ||w_{c′} - w_j|| (float64, for reporting only); per label."""
    dist = np.full(len(labels), np.nan)
    for n, c in enumerate(cls_one):
        if c is None:
            dist[n] = 0.0
            continue
        best = math.inf
        for j in range(C):
            if j != c:
                norm = float(np.linalg.norm(head.weight[c] - head.weight[j]))
                m = float(Fraction(head.S[n, c] - head.S[n, j] + head.Bv[c] - head.Bv[j], head.denom))
                best = min(best, m / norm if norm > 0 else math.inf)
        dist[n] = best
    per = []
    for c in range(C):
        d = dist[labels == c]
        per.append(None if not len(d) else float(np.median(d)))
    return {
        "median_per_class": per,
        "median": float(np.median(dist)) if len(dist) else None,
        "min": float(np.min(dist)) if len(dist) else None,
    }


def bias_vs_frequency(bias: list[float], counts: Sequence[int]) -> dict[str, Any]:
    """Is the trained bias larger for head classes?  (An empirical question: flip monotonicity says flips go toward the larger bias.)"""
    pairs = agree = 0
    C = len(counts)
    for i in range(C):
        for j in range(i + 1, C):
            if counts[i] == counts[j] or bias[i] == bias[j]:
                continue
            pairs += 1
            agree += (counts[i] > counts[j]) == (bias[i] > bias[j])
    rho = None
    if C > 2 and np.ptp(bias) > 0 and np.ptp(counts) > 0:  # Spearman's rho with average ranks for ties
        from scipy.stats import spearmanr

        rho = float(spearmanr(counts, bias).statistic)
    return {"pairs_compared": pairs, "pairs_more_frequent_has_larger_bias": agree, "spearman_rank_corr": rho}
