"""The disagreement slab in numbers (theory.md §1.6): probability vs τ, closed form against Monte Carlo.

(a) Gaussian feature, s ~ N(0, σ²): P = Φ(u) - Φ(u/τ) with u = |B|/σ, at fixed u and at
the maximising u* = sqrt(2 ln τ · τ²/(τ² - 1)); Monte-Carlo points (seeded) on the same axes.
(b) x uniform in the 3-D unit ball, ‖v‖ = 1: P = F(-B) - F(-B/τ) with F(t) = 1/2 + 3/4 (t - t³/3),
exact rationals for rational B and τ (B = -1/2, τ = 2 gives 123/768).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from fcc_theory.geometry import (
    ball_slab_probability,
    gaussian_max_slab,
    gaussian_slab_probability,
    mc_ball_slab,
    mc_gaussian_slab,
)

F = Fraction

MC_N = 40_000


@dataclass(frozen=True)
class SlabData:
    taus: tuple[float, ...]
    gauss_us: tuple[float, ...]
    gauss_curves: dict[float, tuple[float, ...]]
    gauss_max: tuple[tuple[float, float], ...]
    mc_taus: tuple[Fraction, ...]
    gauss_mc: dict[float, tuple[float, ...]]
    ball_Bs: tuple[Fraction, ...]
    ball_curves: dict[Fraction, tuple[float, ...]]
    ball_exact: dict[Fraction, tuple[Fraction, ...]]
    ball_mc: dict[Fraction, tuple[float, ...]]
    mc_n: int


def slab_data(seed: int = 7) -> SlabData:
    """Closed forms on a τ grid, exact ball values at the Monte-Carlo τs, and seeded Monte-Carlo estimates."""
    taus = tuple(1.0 + 0.02 * i for i in range(1, 201))  # 1.02 .. 5
    us = (0.5, 1.0, 2.0)
    curves = {u: tuple(gaussian_slab_probability(-u, t) for t in taus) for u in us}
    gmax = tuple(gaussian_max_slab(t) for t in taus)
    mc_taus = (F(5, 4), F(3, 2), F(2), F(3), F(4), F(5))
    gauss_mc = {u: tuple(mc_gaussian_slab(-u, float(t), n=MC_N, seed=seed + i) for i, t in enumerate(mc_taus)) for u in us}
    Bs = (F(-1, 4), F(-1, 2), F(-3, 4))
    ball_curves = {B: tuple(float(ball_slab_probability(float(B), t)) for t in taus) for B in Bs}
    ball_exact = {B: tuple(ball_slab_probability(B, t) for t in mc_taus) for B in Bs}
    ball_mc = {B: tuple(mc_ball_slab(float(B), float(t), n=MC_N, seed=seed + 100 + i) for i, t in enumerate(mc_taus)) for B in Bs}
    return SlabData(taus, us, curves, gmax, mc_taus, gauss_mc, Bs, ball_curves, ball_exact, ball_mc, MC_N)


def render_slab(d: SlabData) -> Any:
    import math

    from fcc_theory.figures.render import LEGEND_PT, new_figure

    fig = new_figure(13, 5.2)
    colors = ("#1f77b4", "#2ca02c", "#9467bd")
    mct = [float(t) for t in d.mc_taus]
    se = lambda p: 2 * math.sqrt(max(p * (1 - p), 1e-12) / d.mc_n)

    ax = fig.add_subplot(1, 2, 1)
    ax.plot(d.taus, [p for _, p in d.gauss_max], color="black", linewidth=2, label="max over u (at u*)")
    for col, u in zip(colors, d.gauss_us, strict=True):
        ax.plot(d.taus, d.gauss_curves[u], color=col, label=f"closed form, u = |B|/σ = {u:g}")
        ax.errorbar(mct, d.gauss_mc[u], yerr=[se(p) for p in d.gauss_mc[u]], fmt="o", color=col, markersize=4, capsize=2)
    ax.plot([], [], "o", color="0.3", label=f"Monte Carlo (n = {d.mc_n:,}, ±2 s.e.)")
    ax.set_xlabel("τ")
    ax.set_ylabel("P(s in slab)")
    ax.set_ylim(0, 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=LEGEND_PT, loc="upper left")
    t15 = gaussian_max_slab(1.5)
    ax.set_title(
        f"(a) Gaussian feature s ~ N(0, σ²): P = Φ(u) - Φ(u/τ)\nmax at τ = 1.5: P* = {t15[1]:.4f} (u* = {t15[0]:.3f})",
        fontsize=10,
    )

    ax = fig.add_subplot(1, 2, 2)
    for col, B in zip(colors, d.ball_Bs, strict=True):
        ax.plot(d.taus, d.ball_curves[B], color=col, label=f"closed form F(-B) - F(-B/τ), B = {B}")
        ax.errorbar(mct, d.ball_mc[B], yerr=[se(p) for p in d.ball_mc[B]], fmt="o", color=col, markersize=4, capsize=2)
    ax.plot([], [], "o", color="0.3", label=f"Monte Carlo (n = {d.mc_n:,}, ±2 s.e.)")
    i2 = d.mc_taus.index(F(2))
    exact = d.ball_exact[F(-1, 2)][i2]
    ax.annotate(
        f"exact {exact} = {float(exact):.4f}",
        (2.0, float(exact)),
        xytext=(2.6, 0.05),
        fontsize=9,
        arrowprops={"arrowstyle": "->"},
    )
    ax.set_xlabel("τ")
    ax.set_ylabel("P(x in slab)")
    ax.set_ylim(0, 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=LEGEND_PT, loc="upper left")
    ax.set_title("(b) x uniform in the 3-D unit ball, ‖v‖ = 1\nF(t) = 1/2 + 3/4 (t - t³/3)", fontsize=10)
    fig.suptitle("Probability of the disagreement slab between η = 0 and η′ = 0 (theory.md §1.6)", fontsize=11)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.83, bottom=0.1, wspace=0.2)
    return fig
