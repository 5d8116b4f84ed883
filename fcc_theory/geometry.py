"""Geometry of the decision planes η = 0 and η′ = 0 and the probability of the slab between them.

Exact where the numbers are rational (theory.md §1.4, §1.6):

* The pair margin of an affine network is ``η = τ s + B`` at ``τx`` and ``η′ = s + B`` at ``x``,
  with ``s = v·x``. With ``d = -v/B`` (paper Eqs. 7 and 9) the planes are ``d·x = 1/τ`` (η = 0)
  and ``d·x = 1`` (η′ = 0), so along the unit normal ``d/‖d‖`` their offsets from the origin are
  ``|B|/(τ‖v‖)`` and ``|B|/‖v‖``: η′ is the upper plane along d iff τ > 1.
* The gap between them is ``|B|·|1 - 1/τ|/‖v‖`` (``v = k`` in hidden-feature space, ``v = Wᵀk`` in input space).
* Squared norms and squared offsets are exact Fractions; square roots appear as floats only for drawing.
* Slab probability: Gaussian closed form ``P = Φ((hi-m)/σ) - Φ((lo-m)/σ)``, maximised over ``u = |B|/σ``
  at ``u* = sqrt(2 ln τ · τ²/(τ²-1))``; uniform 3-D ball ``F(t) = 1/2 + 3/4 (t - t³/3)``, exact in rationals.

>>> g = plane_geometry([Fraction(1), 0, 0], Fraction(-1), Fraction(2), [Fraction(3, 4), 0, 0])
>>> g.d, g.offset2_eta, g.offset2_eta_prime, g.upper_plane, g.d_dot_x
((Fraction(1, 1), Fraction(0, 1), Fraction(0, 1)), Fraction(1, 4), Fraction(1, 1), 'eta_prime', Fraction(3, 4))
>>> g.gap2, g.in_slab
(Fraction(1, 4), True)
>>> ball_slab_probability(Fraction(-1, 2), Fraction(2), norm_v=Fraction(1), radius=Fraction(1))
Fraction(41, 256)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from fcc_theory.errors import UserError
from fcc_theory.margins import collapse_affine, slab
from fcc_theory.network import Network, NetworkError

__all__ = [
    "PlaneGeometry",
    "ball_cdf",
    "ball_slab_probability",
    "gaussian_max_slab",
    "gaussian_slab_probability",
    "hidden_space",
    "mc_ball_slab",
    "mc_gaussian_slab",
    "network_geometry",
    "plane_geometry",
]

Vector = tuple[Fraction, ...]


def _dot(a: Sequence[Fraction], b: Sequence[Fraction]) -> Fraction:
    return sum((Fraction(p) * Fraction(q) for p, q in zip(a, b, strict=True)), Fraction(0))


@dataclass(frozen=True)
class PlaneGeometry:
    """The planes η = 0 and η′ = 0 of one class pair, the point x and the multiplied point τx.

    ``v`` is the normal of the planes in the drawn space (``s = v·x``); all squared
    quantities are exact. ``d`` is ``-v/B`` (None when B = 0: both planes pass through the origin).
    """

    v: Vector
    B: Fraction
    tau: Fraction
    x: Vector
    s: Fraction
    d: Vector | None
    norm2_v: Fraction
    #: squared distance from the origin to η = 0 (k·x = -B/τ) and to η′ = 0 (k·x = -B)
    offset2_eta: Fraction
    offset2_eta_prime: Fraction
    #: "eta_prime" when η′ = 0 lies farther along d than η = 0 (τ > 1), "eta" when τ < 1, "same" otherwise
    upper_plane: str
    #: squared gap between the planes, |B|²(1 - 1/τ)²/‖v‖²
    gap2: Fraction
    #: d·x (None when B = 0); η′ = -B(d·x - 1) and η = -B(τ d·x - 1) (Eqs. 9 and 7)
    d_dot_x: Fraction | None
    slab: tuple[Fraction, Fraction]
    in_slab: bool
    eta: Fraction
    eta_prime: Fraction

    @property
    def tau_x(self) -> Vector:
        return tuple(self.tau * c for c in self.x)

    @property
    def offset_eta(self) -> float:
        """Signed distance of η = 0 from the origin along the unit normal d/‖d‖ (float, for drawing)."""
        return math.sqrt(self.offset2_eta)

    @property
    def offset_eta_prime(self) -> float:
        return math.sqrt(self.offset2_eta_prime)

    @property
    def gap(self) -> float:
        return math.sqrt(self.gap2)

    @property
    def case(self) -> str:
        """The paper's Fig. 3 case: sign of B, which plane is above along d, and where x is relative to η."""
        if self.B == 0:
            return "B = 0 (planes coincide through the origin)"
        sign = "B < 0" if self.B < 0 else "B > 0"
        order = {"eta_prime": "η′ above η", "eta": "η′ below η", "same": "η′ = η"}[self.upper_plane]
        return f"{sign}, {order} along d"

    def plane_levels(self) -> tuple[Fraction, Fraction]:
        """Levels c of the planes v·x = c: (η = 0, η′ = 0) = (-B/τ, -B)."""
        return (-self.B / self.tau, -self.B)

    def to_json(self) -> dict[str, Any]:
        from fcc_theory.rational import format_rational as f

        return {
            "v": [f(c) for c in self.v],
            "B": f(self.B),
            "tau": f(self.tau),
            "x": [f(c) for c in self.x],
            "tau_x": [f(c) for c in self.tau_x],
            "s": f(self.s),
            "d": None if self.d is None else [f(c) for c in self.d],
            "d_dot_x": None if self.d_dot_x is None else f(self.d_dot_x),
            "offset2_eta": f(self.offset2_eta),
            "offset2_eta_prime": f(self.offset2_eta_prime),
            "gap2": f(self.gap2),
            "upper_plane": self.upper_plane,
            "slab": [f(self.slab[0]), f(self.slab[1])],
            "in_slab": self.in_slab,
            "eta": f(self.eta),
            "eta_prime": f(self.eta_prime),
        }


def plane_geometry(v: Sequence[Any], B: Any, tau: Any, x: Sequence[Any]) -> PlaneGeometry:
    """Exact plane geometry for ``η = τ v·x + B`` and ``η′ = v·x + B`` (theory.md §1.4); τ > 0, v ≠ 0."""
    v = tuple(Fraction(c) for c in v)
    B, tau = Fraction(B), Fraction(tau)
    x = tuple(Fraction(c) for c in x)
    if tau <= 0:
        raise UserError(f"tau = {tau} is not positive; the planes are drawn for tau > 0 (e.g. --tau 3/2)")
    n2 = _dot(v, v)
    if n2 == 0:
        raise UserError(
            "the pair's normal v = A_i - A_j is zero, so there is no decision plane (eta = eta' = B); pick another pair or network"
        )
    s = _dot(v, x)
    d = None if B == 0 else tuple(-c / B for c in v)
    # distance of {v·x = c} from the origin is |c|/‖v‖; squares stay rational
    off_eta = (B / tau) ** 2 / n2
    off_eta_p = B**2 / n2
    upper = "same" if B == 0 or tau == 1 else ("eta_prime" if tau > 1 else "eta")
    gap2 = B**2 * (1 - 1 / tau) ** 2 / n2
    lo, hi = slab(B, tau)
    return PlaneGeometry(
        v=v,
        B=B,
        tau=tau,
        x=x,
        s=s,
        d=d,
        norm2_v=n2,
        offset2_eta=off_eta,
        offset2_eta_prime=off_eta_p,
        upper_plane=upper,
        gap2=gap2,
        d_dot_x=None if d is None else _dot(d, x),
        slab=(lo, hi),
        in_slab=lo <= s <= hi,
        eta=tau * s + B,
        eta_prime=s + B,
    )


def network_geometry(net: Network, x: Sequence[Any], tau: Any, pair: tuple[int, int] = (0, 1)) -> PlaneGeometry:
    """Input-space plane geometry of the pair (i, j) of an affine network: v = A_i - A_j, B = c_i - c_j."""
    i, j = pair
    C = net.n_classes
    if not (0 <= i < C and 0 <= j < C and i != j):
        raise UserError(f"pair {i},{j} is not two different classes of a {C}-class network; use --pair i,j with 0 <= i, j < {C}")
    A, c = collapse_affine(net)
    v = tuple(a - b for a, b in zip(A[i], A[j], strict=True))
    return plane_geometry(v, c[i] - c[j], tau, net.check_input(x))


def hidden_space(net: Network, pair: tuple[int, int] = (0, 1)) -> tuple[Vector, Fraction, Vector] | None:
    """For a linear two-layer network (the paper's): ``(k, B, Wᵀk)`` with k_j = n_ij - n_jj and B = Σ k_j b_j + z_i - z_j (Eq. 6).

    The X-space gap is |B|·|1 - 1/τ|/‖k‖ and the input-space gap |B|·|1 - 1/τ|/‖Wᵀk‖ (theory.md §1.4).
    """
    if net.activation != "linear" or len(net.layers) != 2:
        return None
    hid, out = net.layers
    i, j = pair
    k = tuple(a - b for a, b in zip(out.weight[i], out.weight[j], strict=True))
    B = _dot(k, hid.bias) + out.bias[i] - out.bias[j]
    wtk = tuple(_dot(k, [row[col] for row in hid.weight]) for col in range(hid.n_in))
    return k, B, wtk


# ------------------------------------------------------------------ slab probability (theory.md §1.6)
def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def gaussian_slab_probability(B: float, tau: float, m: float = 0.0, sigma: float = 1.0) -> float:
    """P(lo ≤ s ≤ hi) for s ~ N(m, σ²), lo, hi = min, max(-B, -B/τ): Φ((hi-m)/σ) - Φ((lo-m)/σ)."""
    if sigma <= 0 or tau <= 0:
        raise ValueError("sigma and tau must be positive")
    lo, hi = sorted((-B, -B / tau))
    return _phi((hi - m) / sigma) - _phi((lo - m) / sigma)


def gaussian_max_slab(tau: float) -> tuple[float, float]:
    """``(u*, P*)``: the u = |B|/σ maximising Φ(u) - Φ(u/τ) (m = 0), from d/du = 0: u*² = 2 ln τ · τ²/(τ² - 1)."""
    if tau <= 0 or tau == 1:
        raise ValueError("tau must be positive and different from 1")
    u = math.sqrt(2 * math.log(tau) * tau**2 / (tau**2 - 1))
    return u, abs(_phi(u) - _phi(u / tau))


def ball_cdf(t: Any) -> Any:
    """CDF of t = v·x/(‖v‖R) for x uniform in a 3-D ball: F(t) = 1/2 + 3/4 (t - t³/3), clipped to [-1, 1]; exact for Fractions."""
    one = type(t)(1) if isinstance(t, Fraction) else 1.0
    if t <= -one:
        return 0 * one
    if t >= one:
        return one
    half, three_q = (Fraction(1, 2), Fraction(3, 4)) if isinstance(t, Fraction) else (0.5, 0.75)
    return half + three_q * (t - t**3 / 3)


def ball_slab_probability(B: Any, tau: Any, norm_v: Any = 1, radius: Any = 1) -> Any:
    """Probability of the slab for x uniform in the 3-D ball of radius R; exact when B, τ, ‖v‖, R are rational."""
    exact = all(isinstance(a, (int, Fraction)) for a in (B, tau, norm_v, radius))
    conv = Fraction if exact else float
    B, tau, norm_v, radius = conv(B), conv(tau), conv(norm_v), conv(radius)
    lo, hi = sorted((-B, -B / tau))
    scale = norm_v * radius
    return ball_cdf(hi / scale) - ball_cdf(lo / scale)


def mc_gaussian_slab(B: float, tau: float, m: float = 0.0, sigma: float = 1.0, n: int = 200_000, seed: int = 0) -> float:
    """Monte-Carlo estimate of :func:`gaussian_slab_probability` with a seeded numpy generator (3-D x, v = e1·σ)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    # x ~ N(μ, I) in 3-D with v = (σ, 0, 0) and v·μ = m: s = v·x is N(m, σ²) without assuming it
    x = rng.standard_normal((n, 3))
    s = sigma * x[:, 0] + m
    lo, hi = sorted((-B, -B / tau))
    return float(np.mean((s >= lo) & (s <= hi)))


def mc_ball_slab(B: float, tau: float, norm_v: float = 1.0, radius: float = 1.0, n: int = 200_000, seed: int = 0) -> float:
    """Monte-Carlo estimate of :func:`ball_slab_probability`: uniform points in the 3-D ball, v along a random direction."""
    import numpy as np

    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, 3))
    pts = g / np.linalg.norm(g, axis=1, keepdims=True) * radius * rng.random(n)[:, None] ** (1 / 3)
    u = rng.standard_normal(3)
    v = u / np.linalg.norm(u) * norm_v
    s = pts @ v
    lo, hi = sorted((-B, -B / tau))
    return float(np.mean((s >= lo) & (s <= hi)))


def require_drawable(net: Network) -> None:
    """One-line error unless the network can be drawn in the Fig. 3 style (affine, 3 inputs, ≥ 2 classes)."""
    if not net.is_affine:
        raise NetworkError(
            f"a {net.activation} network with hidden layers has no flat decision planes; fcc figures --network draws linear networks only"
        )
    if net.n_inputs != 3:
        raise NetworkError(
            f"the network takes {net.n_inputs} inputs; fcc figures --network draws 3-input networks (3-D pictures)"
        )
    if net.n_classes < 2:
        raise NetworkError("the network has one output; give at least two classes")
