"""fcc_theory.margins: s, B, η, η′ of every class pair, the slab, and the tie convention, checked independently."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fcc_theory.margins import argmax_or_none, check_configuration, collapse_affine, pair_margins, slab
from fcc_theory.network import Network, NetworkError

F = Fraction
small = st.builds(F, st.integers(-6, 6), st.integers(1, 4))


def _net(weights, biases, act="linear"):
    return Network.from_matrices(weights, biases, activation=act)


@st.composite
def linear_nets(draw):
    widths = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 3)))] + [draw(st.integers(2, 4))]
    n_in = draw(st.integers(1, 3))
    ws, bs, prev = [], [], n_in
    for w in widths:
        ws.append([[draw(small) for _ in range(prev)] for _ in range(w)])
        bs.append([draw(small) for _ in range(w)])
        prev = w
    x = [draw(small) for _ in range(n_in)]
    return _net(ws, bs), x


@given(linear_nets(), small.filter(lambda t: t != 0))
def test_pair_margins_match_logits_and_slab(nx, tau: Fraction) -> None:
    net, x = nx
    rep = check_configuration(net, x, tau)
    A, c = collapse_affine(net)
    # the collapsed map reproduces the network (independent matrix-vector product)
    for scale, logits in ((tau, rep.logits_scaled), (F(1), rep.logits_original)):
        assert tuple(sum(a * scale * v for a, v in zip(row, x, strict=True)) + ci for row, ci in zip(A, c, strict=True)) == logits
    for p in rep.pairs:
        assert p.eta == rep.logits_scaled[p.i] - rep.logits_scaled[p.j]
        assert p.eta_prime == rep.logits_original[p.i] - rep.logits_original[p.j]
        assert p.eta == tau * p.s + p.B and p.eta_prime == p.s + p.B  # Eqs. 6 and 8
        assert p.eta - tau * p.eta_prime == (1 - tau) * p.B  # the key identity
        sign = lambda v: (v > 0) - (v < 0)
        if tau > 0 and tau != 1 and p.B != 0:  # disagree iff s in the closed slab
            assert (sign(p.eta) != sign(p.eta_prime)) == p.in_slab


def test_paper_example_and_tie_convention() -> None:
    net = _net([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0]]], [[0, 0, 0], [0, 1]])
    rep = check_configuration(net, ["3/4", 0, 0], 2)
    assert (rep.class_scaled, rep.class_original, rep.agree) == (0, 1, False)
    tie = check_configuration(net, [1, 0, 0], 1)
    assert tie.class_scaled is None and tie.pairs[0].eta == 0
    assert argmax_or_none([F(1), F(2), F(2)]) is None and argmax_or_none([F(3), F(2)]) == 0
    assert slab(F(-1), F(2)) == (F(1, 2), F(1)) and slab(F(1), F(2)) == (F(-1), F(-1, 2))


def test_relu_has_no_s_and_b() -> None:
    net = _net([[[1], [-1]], [[1, 0], [0, 1]]], [[0, 0], [0, 0]], "relu")
    p = pair_margins(net, [F(2)], F(3))[0]
    assert p.s is None and p.B is None and p.eta == 6 and p.eta_prime == 2
    with pytest.raises(NetworkError, match="not affine"):
        collapse_affine(net)


def test_tanh_report_is_certified_interval() -> None:
    net = _net([[[F(1, 2)], [2]], [[1, 0], [0, F(1, 2)]]], [[0, 0], [0, 0]], "tanh")
    rep = check_configuration(net, [1], 2)
    p = rep.pairs[0]
    # only an enclosure is known: no midpoint posing as an exact value, the JSON gives [lo, hi]
    assert rep.certified and p.eta is None and p.eta_interval[0] < p.eta_interval[1] and p.sign_eta is not None
    js = rep.to_json()
    assert js["certified"] is True and js["pairs"][0]["eta"] == js["pairs"][0]["eta_interval"]
    assert all(len(iv) == 2 for iv in js["logits_scaled"])


def test_sign_change_rule_matches_the_signs_for_every_tau() -> None:
    from fcc_theory.margins import sign_change_rule

    sign = lambda v: (v > 0) - (v < 0)
    grid = [F(n, d) for n in range(-4, 5) for d in (1, 2, 3)]
    for tau in grid:
        for B in grid:
            for s in grid:
                text, differs = sign_change_rule(s, B, tau)
                assert differs == (sign(tau * s + B) != sign(s + B)), (s, B, tau, text)
                assert ("closed slab" in text) == (tau > 0 and tau != 1 and B != 0)
