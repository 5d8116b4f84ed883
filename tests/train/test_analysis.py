"""fcc_train.analysis.head_theory: the slab prediction against independently computed flips, exactly.

The expected answers are computed here from scratch (plain Fractions, no
helper of the module under test), and mutated prediction rules must be caught.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcc_theory import margins
from fcc_train.analysis.exact_head import ExactHead, dyadic, float_argmax
from fcc_train.analysis.head_theory import analyze_head

TAUS = [Fraction(1), Fraction(21, 20), Fraction(5, 4), Fraction(3, 2), Fraction(2), Fraction(3)]


def _argmax(values: list[Fraction]) -> int | None:
    top = max(values)
    idx = [i for i, v in enumerate(values) if v == top]
    return idx[0] if len(idx) == 1 else None


def _independent_flips(
    f: np.ndarray, W: np.ndarray, b: np.ndarray | None, tau_pp: list[Fraction]
) -> list[tuple[int | None, int | None]]:
    """(scaled class, unscaled class) per point from exact logits built here, entry by entry."""
    out = []
    for n in range(f.shape[0]):
        fx = [Fraction(float(v)) for v in f[n]]
        wf = [sum((Fraction(float(w)) * x for w, x in zip(row, fx, strict=True)), Fraction(0)) for row in W]
        bb = [Fraction(0)] * W.shape[0] if b is None else [Fraction(float(v)) for v in b]
        t = tau_pp[n]
        out.append(
            (_argmax([t * a + c for a, c in zip(wf, bb, strict=True)]), _argmax([a + c for a, c in zip(wf, bb, strict=True)]))
        )
    return out


def test_two_class_slab_by_hand() -> None:
    # logits (x, 1) unscaled, (τx, 1) scaled: the class changes iff 1/τ <= x < 1 (a tie at x = 1/τ counts as a change)
    W = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    b = np.array([0.0, 1.0], np.float32)
    xs = np.array([0.25, 0.5, 0.625, 0.75, 0.875, 0.999, 1.25, 2.0], np.float32)
    f = np.stack([xs, np.zeros_like(xs)], 1)
    tau = Fraction(2)
    rep = analyze_head(f, np.zeros(len(xs), int), W, b, [tau, Fraction(1)], [500, 5])
    expected = [Fraction(1, 2) <= Fraction(float(x)) < 1 for x in xs]
    got = [p.flip_predicted for p in rep.modes["true"].points]
    assert got == expected
    assert [p.flip_measured for p in rep.modes["true"].points] == expected
    assert rep.ok and rep.identity_exact == len(xs)
    # every flip goes from class 0 (scaled) to class 1, the class with the larger bias
    mode = rep.modes["true"]
    assert mode.direction["violations"] == 0
    assert mode.direction["bias_larger_unscaled"] == sum(expected) - 1  # the tie at x = 1/2 has no strict scaled winner
    assert mode.direction["ties"] == 1


@settings(max_examples=60, deadline=None)
@given(
    C=st.integers(2, 5),
    d=st.integers(1, 4),
    N=st.integers(1, 8),
    seed=st.integers(0, 2**31 - 1),
    bias=st.booleans(),
    denom=st.sampled_from([1, 2, 4]),
)
def test_prediction_matches_independent_flips(C: int, d: int, N: int, seed: int, bias: bool, denom: int) -> None:
    """Small dyadic values make ties and slab endpoints common; prediction = independent measurement."""
    rng = np.random.default_rng(seed)
    f = (rng.integers(-4, 5, (N, d)) / denom).astype(np.float32)
    W = (rng.integers(-3, 4, (C, d)) / denom).astype(np.float32)
    b = (rng.integers(-4, 5, C) / denom).astype(np.float32) if bias else None
    labels = rng.integers(0, C, N)
    taus = [TAUS[int(i)] for i in rng.integers(0, len(TAUS), C)]
    counts = sorted(rng.integers(1, 300, C).tolist(), reverse=True)
    rep = analyze_head(f, labels, W, b, taus, counts)
    exp = _independent_flips(f, W, b, [taus[int(y)] for y in labels])
    for p, (cs, cu) in zip(rep.modes["true"].points, exp, strict=True):
        assert (p.class_scaled, p.class_unscaled) == (cs, cu)
        if cu is not None:
            assert p.flip_predicted == (cs != cu)
            if cs is not None and cs != cu:
                assert cs in p.overtakers
                assert (b is not None and Fraction(float(b[cu])) > Fraction(float(b[cs]))) or taus[p.label] <= 1
    assert rep.modes["true"].mismatches == [] and rep.modes["pred"].mismatches == []
    assert rep.identity_exact == N
    if b is None:  # bias-free: no strict winner ever changes
        assert all(p.class_scaled == p.class_unscaled for p in rep.modes["true"].points if p.class_unscaled is not None)


def _wrong_slab(B: Fraction, tau: Fraction) -> tuple[Fraction, Fraction]:
    a, c = -B, -B * tau  # the wrong endpoint: -Bτ instead of -B/τ
    return (min(a, c), max(a, c))


_TRUE_SLAB = margins.slab


def _open_slab(B: Fraction, tau: Fraction) -> tuple[Fraction, Fraction]:
    lo, hi = _TRUE_SLAB(B, tau)
    return (lo + Fraction(1, 10**9), hi - Fraction(1, 10**9))  # endpoints dropped: the tie at -B/τ is missed


@pytest.mark.parametrize("mutant", [_wrong_slab, _open_slab])
def test_mutated_slab_rule_is_caught(monkeypatch: pytest.MonkeyPatch, mutant) -> None:
    W = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    b = np.array([0.0, 1.0], np.float32)
    xs = np.array([0.25, 0.5, 0.625, 0.75, 0.875], np.float32)
    f = np.stack([xs, np.zeros_like(xs)], 1)
    assert analyze_head(f, np.zeros(5, int), W, b, [Fraction(2), Fraction(1)], [500, 5]).ok
    monkeypatch.setattr(margins, "slab", mutant)
    rep = analyze_head(f, np.zeros(5, int), W, b, [Fraction(2), Fraction(1)], [500, 5])
    assert rep.modes["true"].mismatches, "a wrong slab endpoint must be reported as a mismatch"
    assert not rep.ok


def test_dyadic_is_exact() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=50) * 10.0 ** rng.integers(-30, 30, 50), [0.0, -0.0, 1e-45, 3.4e38, 0.1]]).astype(
        np.float32
    )
    M, K = dyadic(x)
    assert all(Fraction(int(m), 2**K) == Fraction(float(v)) for m, v in zip(M, x, strict=True))
    with pytest.raises(ValueError):
        dyadic(np.array([np.nan], np.float32))


def test_exact_head_pair_quantities() -> None:
    f = np.array([[0.5, 0.25]], np.float32)
    W = np.array([[1.0, -2.0], [0.75, 4.0]], np.float32)
    b = np.array([0.125, -1.0], np.float32)
    h = ExactHead.build(f, W, b)
    assert h.s(0, 0, 1) == Fraction(1, 2) * 1 - Fraction(1, 2) - (Fraction(3, 8) + 1)
    assert h.B(0, 1) == Fraction(9, 8)


def test_float_rounding_mismatch_is_reported_and_explained() -> None:
    # τ = 29/20 is not a float32: fl(1.45) > 1.45. With b_1 = fl(1.45) the exact scaled logits are
    # (1.45, fl(1.45)) -> class 1, while float32 computes (fl(1.45), fl(1.45)): a tie.
    t32 = np.float32(1.45)
    W = np.array([[1.0], [0.0]], np.float32)
    b = np.array([0.0, t32], np.float32)
    f = np.array([[1.0]], np.float32)
    taus = [Fraction(29, 20), Fraction(1)]
    rep = analyze_head(f, np.array([0]), W, b, taus, [100, 10], float_head=lambda x: x @ W.T + b)
    mode = rep.modes["true"]
    assert mode.mismatches == []  # the exact prediction is still right
    assert rep.identity_exact == 1 and rep.identity_float == 1
    assert mode.points[0].class_scaled == 1 and mode.points[0].float_scaled is None
    (fm,) = mode.float_mismatches
    assert fm["explained_by_rounding"] and 0 < fm["scaled_exact_margin"] <= fm["scaled_float_error_bound"]


def test_float_argmax_ties() -> None:
    assert float_argmax(np.array([[1.0, 2.0], [3.0, 3.0]])) == [1, None]


def test_report_json_and_splits() -> None:
    rng = np.random.default_rng(3)
    N, C, d = 40, 4, 6
    f = np.abs(rng.normal(size=(N, d))).astype(np.float32)
    W = rng.normal(size=(C, d)).astype(np.float32)
    b = (rng.normal(size=C) * 3).astype(np.float32)
    y = rng.integers(0, C, N)
    counts = [150, 60, 30, 10]
    taus = [Fraction(3, 2), Fraction(11, 8), Fraction(5, 4), Fraction(9, 8)]
    rep = analyze_head(f, y, W, b, taus, counts)
    js = rep.to_json()
    assert js["ok"] and js["identity"]["exact_holds"] == N
    t = js["modes"]["true"]
    assert sum(v["points"] for v in t["by_split"].values()) == N
    assert t["by_split"]["many"]["points"] == int((y == 0).sum()) and t["by_split"]["few"]["points"] == int((y == 3).sum())
    assert t["flips_measured_exact"] == t["flips_predicted"] == len(t["flipped_indices"])
    assert sum(t["by_split"][s]["flips_exact"] for s in t["by_split"]) == t["flips_measured_exact"]
    # slab width |B|(1-1/τ)/||w_i - w_j||, recomputed here for one pair
    w01 = abs(float(b[0]) - float(b[1])) * (1 - 2 / 3) / np.linalg.norm(W[0].astype(np.float64) - W[1])
    assert js["slab_width"]["matrix"][0][1] == pytest.approx(w01, rel=1e-9)


def test_bias_vs_frequency_reports_rank_correlation() -> None:
    from fcc_train.analysis.exact_head import bias_vs_frequency

    up = bias_vs_frequency([3.0, 2.0, 1.0, 0.5], [400, 100, 30, 5])
    assert up["pairs_more_frequent_has_larger_bias"] == up["pairs_compared"] == 6 and up["spearman_rank_corr"] == pytest.approx(
        1.0
    )
    down = bias_vs_frequency([0.5, 1.0, 2.0, 3.0], [400, 100, 30, 5])
    assert down["pairs_more_frequent_has_larger_bias"] == 0 and down["spearman_rank_corr"] == pytest.approx(-1.0)
    assert bias_vs_frequency([0.0] * 4, [400, 100, 30, 5])["spearman_rank_corr"] is None  # a bias-free head has no order


def test_docstring_examples() -> None:
    import doctest

    import fcc_train.analysis.exact_head
    import fcc_train.analysis.head_theory

    for mod in (fcc_train.analysis.head_theory, fcc_train.analysis.exact_head):
        res = doctest.testmod(mod)
        assert res.failed == 0 and res.attempted > 0
