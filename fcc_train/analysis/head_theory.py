"""The slab theory applied to a trained linear head: which test points FCC's train-time scaling moves.

FCC trains with the pooled feature of a sample of class y multiplied by τ_y
(paper Eq. 1) and tests with the plain feature. For a linear head with logits
``ℓ = Wf + b`` the theory predicts, exactly:

* **bias-rescaling identity**: argmax(τWf + b) = argmax(Wf + b/τ);
* **pairwise slabs**: for classes i, j with ``s = (w_i - w_j)·f`` and
  ``B = b_i - b_j`` the pair changes order between scale τ and scale 1 exactly
  when s lies in the closed slab between -B and -B/τ (``fcc_theory.margins.slab``);
* **flip monotonicity**: if the scaled prediction is c and the unscaled one
  c′ ≠ c (both strict), then b_{c′} > b_c for τ > 1; with a bias-free head no
  point changes class at all.

Everything decisive here is exact: float32 features, weights and biases are
dyadic rationals (``Fraction(float)`` is exact), so they are turned into
integers over a common power of two and compared in Python integers
(:class:`fcc_train.analysis.exact_head.ExactHead`). The
same flips are also measured in the model's own float32 arithmetic (supplied
by the caller as logits); any disagreement between the two is reported with
the exact margin and a rounding-error bound that explains it.

>>> import numpy as np
>>> W = np.array([[1, 0], [0, 0]], np.float32); b = np.array([0, 1], np.float32)
>>> f = np.array([[0.75, 0], [2, 0], [0.25, 0]], np.float32)
>>> rep = analyze_head(f, np.array([0, 0, 0]), W, b, [Fraction(2), Fraction(2)], [500, 5])
>>> [p.flip_predicted for p in rep.modes["true"].points], rep.modes["true"].mismatches
([True, False, False], [])
>>> rep.modes["true"].points[0].class_scaled, rep.modes["true"].points[0].class_unscaled
(0, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any, Callable, Sequence

import numpy as np

from fcc_theory import margins
from fcc_theory.rational import format_rational
from fcc_train.analysis.exact_head import (
    AnalysisError,
    ExactHead,
    bias_vs_frequency,
    boundary_distances,
    float_argmax,
    row_argmax,
    slab_widths,
)
from fcc_train.data.longtail import SHOTS, shot_of

__all__ = ["HeadReport", "ModeReport", "PointResult", "analyze_head"]

_U32 = 2.0**-24  # unit roundoff of float32


@dataclass
class PointResult:
    """One test point in one scaling mode."""

    index: int
    label: int
    tau: Fraction
    class_unscaled: int | None  # exact argmax of Wf + b
    class_scaled: int | None  # exact argmax of τWf + b
    flip_predicted: bool | None  # from the slabs of the unscaled winner's pairs (None: unscaled tie)
    overtakers: tuple[int, ...]  # classes j whose pair (c′, j) puts s in the slab: the possible scaled winners
    in_any_slab: bool  # some pair (i, j) changes order (or ties) between scale τ and 1
    float_unscaled: int | None = None
    float_scaled: int | None = None

    @property
    def flip_measured(self) -> bool:
        return self.class_scaled != self.class_unscaled

    @property
    def flip_float(self) -> bool | None:
        if self.float_unscaled is None and self.float_scaled is None:
            return None
        return self.float_scaled != self.float_unscaled


@dataclass
class ModeReport:
    """Flips between scaled and unscaled evaluation for one choice of τ per point."""

    mode: str  # "true" (τ of the label) or "pred" (τ of the unscaled prediction)
    points: list[PointResult]
    mismatches: list[dict[str, Any]]  # exact prediction vs exact measurement (must stay empty)
    float_mismatches: list[dict[str, Any]]  # float measurement vs exact measurement
    direction: dict[str, int]  # flips with b_{c′} > b_c, violations, toward more frequent class
    transitions: dict[str, int]  # "c->c′" (scaled -> unscaled) counts
    by_split: dict[str, dict[str, Any]]
    error_scaled: float
    error_unscaled: float

    def to_json(self) -> dict[str, Any]:
        pts = self.points
        return {
            "mode": self.mode,
            "points": len(pts),
            "flips_measured_exact": sum(p.flip_measured for p in pts),
            "flips_predicted": sum(bool(p.flip_predicted) for p in pts),
            "flips_measured_float": None if pts and pts[0].flip_float is None else sum(bool(p.flip_float) for p in pts),
            "agree_exact": len(pts) - len(self.mismatches),
            "mismatches": self.mismatches,
            "float_mismatches": self.float_mismatches,
            "in_any_slab": sum(p.in_any_slab for p in pts),
            "unscaled_ties": sum(p.flip_predicted is None for p in pts),
            "direction": self.direction,
            "transitions": self.transitions,
            "by_split": self.by_split,
            "top1_error_scaled": self.error_scaled,
            "top1_error_unscaled": self.error_unscaled,
            "flipped_indices": [p.index for p in pts if p.flip_measured],
        }


@dataclass
class HeadReport:
    """Everything ``fcc analyze`` decides about one head on one set of features."""

    num_points: int
    num_classes: int
    bias_free: bool
    taus: list[Fraction]
    class_counts: list[int]
    bias: list[float]
    identity_exact: int  # points where argmax(τWf + b) == argmax(Wf + b/τ) exactly
    identity_float: int | None  # ... in float32
    modes: dict[str, ModeReport]
    slab_width: dict[str, Any]
    bias_vs_frequency: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Theory and exact measurement agree everywhere (identity and flips)."""
        return (
            self.identity_exact == self.num_points
            and all(not m.mismatches for m in self.modes.values())
            and all(m.direction["violations"] == 0 for m in self.modes.values())
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "num_points": self.num_points,
            "num_classes": self.num_classes,
            "bias_free": self.bias_free,
            "tau": [format_rational(t) for t in self.taus],
            "class_counts": self.class_counts,
            "bias": self.bias,
            "identity": {"exact_holds": self.identity_exact, "float_holds": self.identity_float, "points": self.num_points},
            "modes": {k: m.to_json() for k, m in self.modes.items()},
            "slab_width": self.slab_width,
            "bias_vs_frequency": self.bias_vs_frequency,
            "notes": self.notes,
        }


def _predict(head: ExactHead, n: int, tau: Fraction, winner: int | None) -> tuple[bool | None, tuple[int, ...]]:
    """Slab prediction for point n: the unscaled winner c′ keeps its class at scale τ unless some
    pair (c′, j) has s_{c′j} inside ``margins.slab(B_{c′j}, τ)`` (the pairwise slab of the module docstring)."""
    if winner is None:
        return None, ()
    over = []
    for j in range(head.S.shape[1]):
        if j == winner:
            continue
        lo, hi = margins.slab(head.B(winner, j), tau)
        if lo <= head.s(n, winner, j) <= hi:
            over.append(j)
    return bool(over), tuple(over)


def _any_slab(num_tau: np.ndarray, num_one: np.ndarray) -> list[bool]:
    """Does some pair (i, j) lie in its closed slab, i.e. η_ij(τ)·η_ij(1) <= 0?  Sorting by the
    unscaled logits, no pair does iff those are distinct and the scaled ones increase strictly."""
    out = []
    for rt, r1 in zip(num_tau, num_one, strict=True):
        order = sorted(range(len(r1)), key=lambda c: r1[c])
        inc1 = all(r1[a] < r1[b] for a, b in pairwise(order))
        inct = all(rt[a] < rt[b] for a, b in pairwise(order))
        out.append(not (inc1 and inct))
    return out


def _pair_bound(head: ExactHead, absf: np.ndarray, tau: float, i: int, j: int) -> float:
    """Worst-case float32 error of logit_i - logit_j at scale τ: γ_{d+3}(τ Σ|w||f| + |b|) for each
    (d products and sums, the bias, the rounded τ and the product τ f), summed over i and j."""
    d = head.weight.shape[1]
    g = (d + 3) * _U32 / (1 - (d + 3) * _U32)
    w = np.abs(head.weight)
    bi = abs(float(Fraction(head.Bv[i], head.denom)))
    bj = abs(float(Fraction(head.Bv[j], head.denom)))
    return g * (tau * float(w[i] @ absf) + bi + tau * float(w[j] @ absf) + bj)


def _margin(row: Sequence[int], a: int, b: int, scale: int) -> float:
    return float(Fraction(int(row[a]) - int(row[b]), scale))


def _mode(
    head: ExactHead,
    feats: np.ndarray,
    labels: np.ndarray,
    counts: Sequence[int],
    mode: str,
    taus_pp: list[Fraction],
    num_one: np.ndarray,
    cls_one: list[int | None],
    float_logits: tuple[np.ndarray, np.ndarray] | None,
) -> ModeReport:
    num_tau = head.numerators(taus_pp)
    cls_tau = row_argmax(num_tau)
    anyslab = _any_slab(num_tau, num_one)
    f_one = f_tau = None
    if float_logits is not None:
        f_tau, f_one = float_argmax(float_logits[0]), float_argmax(float_logits[1])
    points, mism, fmism = [], [], []
    direction = {"flips": 0, "bias_larger_unscaled": 0, "violations": 0, "toward_more_frequent": 0, "ties": 0}
    trans: dict[str, int] = {}
    for n in range(len(labels)):
        tau = taus_pp[n]
        pred, over = _predict(head, n, tau, cls_one[n])
        p = PointResult(
            n,
            int(labels[n]),
            tau,
            cls_one[n],
            cls_tau[n],
            pred,
            over,
            anyslab[n],
            None if f_one is None else f_one[n],
            None if f_tau is None else f_tau[n],
        )
        points.append(p)
        scale_t = tau.denominator * head.denom
        # prediction vs exact measurement: the flip itself, and the scaled winner among the overtakers
        if pred is not None and (pred != p.flip_measured or (p.class_scaled is not None and pred and p.class_scaled not in over)):
            unscaled = p.class_unscaled
            assert unscaled is not None  # a prediction needs the unscaled winner (_predict)
            mism.append(
                {
                    "index": n,
                    "label": p.label,
                    "tau": format_rational(tau),
                    "predicted_flip": pred,
                    "overtakers": list(over),
                    "class_unscaled": p.class_unscaled,
                    "class_scaled": p.class_scaled,
                    "margins_unscaled": [_margin(num_one[n], unscaled, j, head.denom) for j in over],
                    "margins_scaled": [_margin(num_tau[n], unscaled, j, scale_t) for j in over],
                }
            )
        if p.flip_measured:
            c, c2 = p.class_scaled, p.class_unscaled
            direction["flips"] += 1
            if c is None or c2 is None:
                direction["ties"] += 1
            else:
                trans[f"{c}->{c2}"] = trans.get(f"{c}->{c2}", 0) + 1
                if head.Bv[c2] > head.Bv[c]:
                    direction["bias_larger_unscaled"] += 1
                elif tau > 1:
                    direction["violations"] += 1  # flip monotonicity refuted
                direction["toward_more_frequent"] += int(counts[c2] > counts[c])
        if float_logits is not None and (p.float_scaled != p.class_scaled or p.float_unscaled != p.class_unscaled):
            fmism.append(_float_mismatch(head, feats, num_tau, num_one, p, scale_t, float_logits, n))
    by_split: dict[str, dict[str, Any]] = {}
    for sp in SHOTS:
        sel = [p for p in points if shot_of(counts[p.label]) == sp]
        by_split[sp] = {
            "points": len(sel),
            "flips_exact": sum(p.flip_measured for p in sel),
            "flips_float": None if any(p.flip_float is None for p in sel) else sum(bool(p.flip_float) for p in sel),
            "in_any_slab": sum(p.in_any_slab for p in sel),
            "correct_unscaled": sum(p.class_unscaled == p.label for p in sel),
            "correct_scaled": sum(p.class_scaled == p.label for p in sel),
            "flips_fixing": sum(p.flip_measured and p.class_unscaled == p.label for p in sel),
            "flips_breaking": sum(p.flip_measured and p.class_scaled == p.label for p in sel),
        }
    N = max(1, len(points))
    err_s = 100.0 * sum(p.class_scaled != p.label for p in points) / N
    err_u = 100.0 * sum(p.class_unscaled != p.label for p in points) / N
    return ModeReport(mode, points, mism, fmism, direction, dict(sorted(trans.items())), by_split, err_s, err_u)


def _float_mismatch(
    head: ExactHead,
    feats: np.ndarray,
    num_tau: np.ndarray,
    num_one: np.ndarray,
    p: PointResult,
    scale_t: int,
    float_logits: tuple[np.ndarray, np.ndarray],
    n: int,
) -> dict[str, Any]:
    """Why float32 and exact arithmetic disagree at point n: the exact margin between the exact and
    the float winner, next to the worst-case float32 rounding error of that margin."""
    absf = np.abs(feats[n].astype(np.float64))
    out: dict[str, Any] = {
        "index": n,
        "label": p.label,
        "tau": format_rational(p.tau),
        "exact": [p.class_scaled, p.class_unscaled],
        "float": [p.float_scaled, p.float_unscaled],
    }
    explained = True
    for name, ex, fl, row, scale, tau in (
        ("scaled", p.class_scaled, p.float_scaled, num_tau[n], scale_t, float(p.tau)),
        ("unscaled", p.class_unscaled, p.float_unscaled, num_one[n], head.denom, 1.0),
    ):
        if ex == fl:
            continue
        if ex is None or fl is None:  # an exact or float tie: margin 0 against the runner-up
            a = ex if ex is not None else fl
            assert a is not None  # ex == fl (both None) was skipped above
            others = [c for c in range(len(row)) if c != a]
            b = max(others, key=lambda c: row[c])
        else:
            a, b = ex, fl
        m = _margin(row, a, b, scale)
        bound = _pair_bound(head, absf, tau, a, b)
        out[f"{name}_exact_margin"] = m
        out[f"{name}_float_error_bound"] = bound
        explained = explained and abs(m) <= bound
    out["explained_by_rounding"] = explained
    return out


def analyze_head(
    features: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    taus: Sequence[Fraction],
    class_counts: Sequence[int],
    float_head: Callable[[np.ndarray], np.ndarray] | None = None,
    float_taus: Sequence[float] | np.ndarray | None = None,
) -> HeadReport:
    """Check the identity, predict and measure the flips of a linear head ``Wf + b`` on ``features``.

    ``taus`` are the exact τ per label id. Two τ modes: 'true' scales each point by τ of its label (as
    training does), 'pred' by τ of its exact unscaled prediction. ``float_head`` maps float32 features
    (N, d) to the model's own float32 logits (the trained head); the scaled features it gets are
    ``features * float_taus[class]`` in float32, as the engine multiplies them (``float_taus`` defaults
    to float32(τ)).
    """
    feats = np.asarray(features)
    labels = np.asarray(labels)
    W = np.asarray(weight)
    if feats.ndim != 2 or W.ndim != 2 or feats.shape[1] != W.shape[1]:
        raise AnalysisError(
            f"features {feats.shape} and head weight {W.shape} do not fit; the head must be (C, d) for (N, d) features"
        )
    C = W.shape[0]
    if len(taus) != C or len(class_counts) != C:
        raise AnalysisError(f"need one tau and one class count per class ({C}), got {len(taus)} and {len(class_counts)}")
    if any(t <= 0 for t in taus):
        raise AnalysisError("every tau must be > 0")
    head = ExactHead.build(feats, W, None if bias is None else np.asarray(bias))
    taus = [Fraction(t) for t in taus]
    num_one = head.numerators([Fraction(1)] * len(labels))
    cls_one = row_argmax(num_one)
    tau_true = [taus[int(y)] for y in labels]
    # the identity, on a separate path: Fractions Wf + b/τ against the integer numerators of τWf + b
    cls_true = row_argmax(head.numerators(tau_true))
    ident = 0
    for n, t in enumerate(tau_true):
        alt = [Fraction(head.S[n, c], head.denom) + Fraction(head.Bv[c], head.denom) / t for c in range(C)]
        ident += margins.argmax_or_none(alt) == cls_true[n]
    notes = []
    pred_cls = [c if c is not None else int(y) for c, y in zip(cls_one, labels, strict=True)]
    tau_pred = [taus[c] for c in pred_cls]
    fl: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ident_f = None
    if float_head is not None:
        t32 = np.asarray([float(t) for t in taus] if float_taus is None else float_taus, dtype=np.float32)
        f32 = feats.astype(np.float32)
        unscaled = np.asarray(float_head(f32))
        for name, idx in (("true", labels.astype(np.int64)), ("pred", np.asarray(pred_cls, np.int64))):
            fl[name] = (np.asarray(float_head(f32 * t32[idx][:, None])), unscaled)
        # float side of the identity: Wf + b/τ in float32 against the head on τf
        b32 = np.zeros(C, np.float32) if bias is None else np.asarray(bias, np.float32)
        rhs = f32 @ W.astype(np.float32).T + b32[None, :] / t32[labels.astype(np.int64)][:, None]
        ident_f = int(sum(a == b for a, b in zip(float_argmax(fl["true"][0]), float_argmax(rhs), strict=True)))
    if any(c is None for c in cls_one):
        notes.append("some unscaled predictions are exact ties; 'pred' mode uses the label's tau there")
    if head.bias_free:
        notes.append("bias-free head: every B_ij = 0, so the slabs are the hyperplanes s = 0 and no strict winner can change")
    modes = {
        "true": _mode(head, feats, labels, class_counts, "true", tau_true, num_one, cls_one, fl.get("true")),
        "pred": _mode(head, feats, labels, class_counts, "pred", tau_pred, num_one, cls_one, fl.get("pred")),
    }
    bias_f = [0.0] * C if bias is None else [float(v) for v in np.asarray(bias, np.float64)]
    return HeadReport(
        len(labels),
        C,
        head.bias_free,
        taus,
        list(map(int, class_counts)),
        bias_f,
        ident,
        ident_f,
        modes,
        dict(slab_widths(head, taus), boundary_distance=boundary_distances(head, labels, cls_one, C)),
        bias_vs_frequency(bias_f, class_counts),
        notes,
    )
