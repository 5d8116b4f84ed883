"""Plane geometry and slab probabilities (fcc_theory.geometry) against fcc check and independent computations."""

from __future__ import annotations

import doctest
import itertools
import math
import random
from fractions import Fraction as F

import pytest

import fcc_theory.geometry as geometry
from fcc_theory.errors import UserError
from fcc_theory.geometry import (
    ball_cdf,
    ball_slab_probability,
    gaussian_max_slab,
    gaussian_slab_probability,
    hidden_space,
    mc_ball_slab,
    mc_gaussian_slab,
    network_geometry,
    plane_geometry,
)
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network


def _rand_q(rng: random.Random, lo: int = -4, hi: int = 4) -> F:
    return F(rng.randint(lo * 4, hi * 4), rng.randint(1, 4))


def _random_net(rng: random.Random) -> Network:
    W = [[_rand_q(rng) for _ in range(3)] for _ in range(3)]
    b = [_rand_q(rng) for _ in range(3)]
    N = [[_rand_q(rng) for _ in range(3)] for _ in range(2)]
    z = [_rand_q(rng) for _ in range(2)]
    return Network.from_matrices([W, N], [b, z])


def _dot(a, b) -> F:
    return sum((p * q for p, q in zip(a, b, strict=True)), F(0))


def test_doctests() -> None:
    assert doctest.testmod(geometry).failed == 0


def test_geometry_matches_check_on_random_networks() -> None:
    rng = random.Random(11)
    done = 0
    while done < 150:
        net = _random_net(rng)
        x = [_rand_q(rng, -2, 2) for _ in range(3)]
        tau = F(rng.randint(1, 12), rng.randint(1, 6))
        try:
            g = network_geometry(net, x, tau)
        except UserError:  # v = 0: no plane
            continue
        p = check_configuration(net, x, tau).pair(0, 1)
        assert (g.s, g.B, g.eta, g.eta_prime, g.slab, g.in_slab) == (p.s, p.B, p.eta, p.eta_prime, p.slab, p.in_slab)
        # Eqs. 7 and 9 with d = -v/B: η = -B(τ d·x - 1), η′ = -B(d·x - 1)
        if g.B != 0:
            assert g.eta == -g.B * (tau * g.d_dot_x - 1) and g.eta_prime == -g.B * (g.d_dot_x - 1)
            # the feet of the planes on the normal: points on each plane at the stated squared distance
            foot = lambda c, g=g: tuple(c / g.norm2_v * vi for vi in g.v)
            c_eta, c_etap = g.plane_levels()
            for c, off2 in ((c_eta, g.offset2_eta), (c_etap, g.offset2_eta_prime)):
                q = foot(c)
                assert _dot(g.v, q) == c and _dot(q, q) == off2
                assert _dot(g.d, q) > 0  # both planes lie on the +d side of the origin
            # gap = distance between the feet; η′ is farther along d iff τ > 1
            diff = tuple(a - b for a, b in zip(foot(c_eta), foot(c_etap), strict=True))
            assert _dot(diff, diff) == g.gap2
            assert (g.upper_plane == "eta_prime") == (tau > 1) and (g.upper_plane == "eta") == (tau < 1)
            assert (g.offset2_eta_prime > g.offset2_eta) == (tau > 1)
        # input-space gap uses Wᵀk (theory.md §1.4)
        _k, B, wtk = hidden_space(net)
        assert B == g.B and wtk == g.v
        assert g.gap2 == B**2 * (1 - 1 / tau) ** 2 / _dot(wtk, wtk)
        done += 1


def test_no_plane_order_reversal_for_tau_above_one() -> None:
    """Claim C12: for τ > 1 η′ = 0 is always the upper plane along d (3a, 3d unrealisable)."""
    rng = random.Random(5)
    for _ in range(300):
        v = [_rand_q(rng) or F(1) for _ in range(3)]
        B = _rand_q(rng) or F(-1)
        tau = 1 + F(rng.randint(1, 40), rng.randint(1, 9))
        g = plane_geometry(v, B, tau, [0, 0, 0])
        assert g.upper_plane == "eta_prime" and g.offset2_eta < g.offset2_eta_prime


def test_zero_normal_and_bad_tau_are_user_errors() -> None:
    with pytest.raises(UserError, match="no decision plane"):
        plane_geometry([0, 0, 0], -1, 2, [1, 1, 1])
    with pytest.raises(UserError, match="not positive"):
        plane_geometry([1, 0, 0], -1, 0, [1, 1, 1])


# --------------------------------------------------------------------------- slab probability
def test_gaussian_closed_form_vs_monte_carlo() -> None:
    n = 200_000
    for B, tau, m, s in ((-1.0, 1.5, 0.0, 1.0), (-1.2, 2.0, 0.3, 0.8), (0.7, 3.0, -0.2, 1.5), (2.0, 1.25, 1.0, 2.0)):
        p = gaussian_slab_probability(B, tau, m, s)
        mc = mc_gaussian_slab(B, tau, m, s, n=n, seed=3)
        assert abs(p - mc) < 4 * math.sqrt(p * (1 - p) / n) + 1e-4, (B, tau, p, mc)


def test_gaussian_maximum_matches_table_and_is_a_maximum() -> None:
    # theory.md §1.6 table (3 decimals)
    table = {1.05: 0.012, 1.1: 0.023, 1.25: 0.054, 1.5: 0.097, 2: 0.161, 4: 0.291, 10: 0.399}
    for tau, want in table.items():
        u, p = gaussian_max_slab(tau)
        assert round(p, 3) == want, (tau, p)
        assert p == pytest.approx(gaussian_slab_probability(-u, tau))
        for du in (-0.05, -0.01, 0.01, 0.05):  # a wrong u* formula would not beat its neighbours
            assert gaussian_slab_probability(-(u + du), tau) < p
    # the maximum tends to 1/2 as τ grows
    assert 0.45 < gaussian_max_slab(1e6)[1] < 0.5


def test_ball_exact_case_and_monte_carlo() -> None:
    p = ball_slab_probability(F(-1, 2), F(2), norm_v=F(1), radius=F(1))
    assert p == F(123, 768)
    # independent: integrate the disc areas π(R² - z²) over the slab, divide by the ball's volume
    lo, hi = F(1, 4), F(1, 2)
    prim = lambda z: z - z**3 / 3
    assert p == (prim(hi) - prim(lo)) / F(4, 3)
    n = 200_000
    for B, tau, nv, R in ((-0.5, 2.0, 1.0, 1.0), (0.3, 1.5, 2.0, 0.5), (-0.9, 4.0, 1.0, 1.2)):
        exact = float(ball_slab_probability(B, tau, nv, R))
        mc = mc_ball_slab(B, tau, nv, R, n=n, seed=9)
        assert abs(exact - mc) < 4 * math.sqrt(exact * (1 - exact) / n) + 1e-4, (B, tau, exact, mc)


def test_ball_cdf_is_a_cdf() -> None:
    assert ball_cdf(F(-1)) == 0 and ball_cdf(F(1)) == 1 and ball_cdf(F(0)) == F(1, 2)
    assert ball_cdf(F(-3)) == 0 and ball_cdf(F(5, 2)) == 1
    ts = [F(k, 20) for k in range(-20, 21)]
    vals = [ball_cdf(t) for t in ts]
    assert all(a < b for a, b in itertools.pairwise(vals))
    # a slab wholly outside the ball has probability 0
    assert ball_slab_probability(F(-3), F(2)) == 0
