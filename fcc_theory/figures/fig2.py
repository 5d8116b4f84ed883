"""Fig. 2 of the paper: multiplying features by τ (Eq. 1, f_M = τ f_O).

(a) the square ABCD and A′B′C′D′ = 2·ABCD (exact vertices); (b) a seeded point cloud
and its multiple, with the measured ratio of mean pairwise distances; (c) in N
dimensions distances scale by τ, so the density of the original features relative
to the multiplied ones is τ^N.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

F = Fraction


@dataclass(frozen=True)
class Fig2Data:
    square: tuple[tuple[Fraction, Fraction], ...]
    square_scaled: tuple[tuple[Fraction, Fraction], ...]
    factor: Fraction
    #: exact squared side lengths before and after
    side2: Fraction
    side2_scaled: Fraction
    tau_cloud: float
    cloud_distance_ratio: float
    taus: tuple[float, ...]
    dims: tuple[int, ...]


def fig2_data(seed: int = 2023) -> tuple[Fig2Data, Any, Any]:
    """Fig. 2's numbers (exact for the square) and the point clouds (original, multiplied)."""
    import numpy as np

    # not (1,1)-(2,2): doubling that square puts A′ on C and the labels collide
    square = ((F(1), F(1, 2)), (F(2), F(1, 2)), (F(2), F(3, 2)), (F(1), F(3, 2)))
    factor = F(2)
    scaled = tuple((factor * a, factor * b) for a, b in square)
    side2 = lambda P: (P[1][0] - P[0][0]) ** 2 + (P[1][1] - P[0][1]) ** 2
    rng = np.random.default_rng(seed)
    tau = 1.5
    cloud = rng.normal(loc=(1.0, 0.6), scale=0.18, size=(150, 2))
    mult = tau * cloud

    def mean_pdist(P: Any) -> float:
        D = np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(-1))
        return float(D[np.triu_indices(len(P), 1)].mean())

    ratio = mean_pdist(mult) / mean_pdist(cloud)
    data = Fig2Data(square, scaled, factor, side2(square), side2(scaled), tau, ratio, (1.05, 1.1, 1.25, 1.5), tuple(range(1, 65)))
    return data, cloud, mult


def render_fig2(data: Fig2Data, cloud: Any, mult: Any) -> Any:
    import numpy as np
    from matplotlib.patches import Polygon

    from fcc_theory.figures.render import LEGEND_PT, new_figure

    fig = new_figure(15, 4.8)
    ax = fig.add_subplot(1, 3, 1)
    names = "ABCD"
    for P, col, prime, ls in ((data.square, "#1f77b4", "", "-"), (data.square_scaled, "#d62728", "′", "--")):
        pts = [(float(a), float(b)) for a, b in P]
        ax.add_patch(Polygon(pts, closed=True, fill=False, edgecolor=col, linewidth=2, linestyle=ls))
        # labels point outward from each square's centre: A lower-left, B lower-right, C upper-right, D upper-left
        outward = (((-4, -11), "right"), ((4, -11), "left"), ((4, 4), "left"), ((-4, 4), "right"))
        for n, (a, b), (off, ha) in zip(names, pts, outward, strict=True):
            ax.annotate(f"{n}{prime}({a:g}, {b:g})", (a, b), textcoords="offset points", xytext=off, fontsize=9, color=col, ha=ha)
            ax.plot([0, a], [0, b], color=col, alpha=0.25, linewidth=0.8)
    ax.plot([0], [0], "ko", markersize=3)
    ax.set_xlim(-0.2, 5.0)
    ax.set_ylim(-0.2, 3.6)
    ax.set_aspect("equal")
    ax.set_xlabel("f1")
    ax.set_ylabel("f2")
    s, s2 = data.side2, data.side2_scaled
    ax.set_title(f"(a) ABCD × {data.factor} = A′B′C′D′\nside² {s} → {s2} (side × {data.factor})", fontsize=10)

    ax = fig.add_subplot(1, 3, 2)
    ax.scatter(cloud[:, 0], cloud[:, 1], s=8, color="#1f77b4", label="original f_O")
    ax.scatter(mult[:, 0], mult[:, 1], s=8, color="#d62728", marker="^", label=f"multiplied f_M = {data.tau_cloud:g}·f_O")
    ax.plot([0], [0], "ko", markersize=3)
    ax.set_aspect("equal")
    ax.set_xlim(-0.1, 2.4)
    ax.set_ylim(-0.1, 1.9)
    ax.set_xlabel("f1")
    ax.set_ylabel("f2")
    ax.legend(fontsize=LEGEND_PT, loc="upper left")
    ax.set_title(
        f"(b) one class, 150 seeded points, τ = {data.tau_cloud:g}\nmean pairwise distance ratio (measured) = {data.cloud_distance_ratio:.4f}",
        fontsize=10,
    )

    ax = fig.add_subplot(1, 3, 3)
    N = np.array(data.dims)
    for t in data.taus:
        ax.semilogy(N, t ** N.astype(float), label=f"τ = {t:g}")
    ax.set_xlabel("feature dimension N")
    ax.set_ylabel("density ratio $\\tau^N$ (original vs multiplied)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=LEGEND_PT, loc="upper left")
    # f_M = τ f_O stretches every distance by τ, so a region of the multiplied features has τ^N times the
    # volume of its original: for τ > 1 the originals are τ^N times denser (the paper's N-dimensional remark)
    ax.set_title(
        "(c) distances grow by τ (τ > 1): the original features\nare $\\tau^N$ times denser (ResNet-32 features: N = 64)",
        fontsize=10,
    )
    fig.suptitle("Fig. 2: multiplying features by τ (Eq. 1)", fontsize=11)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.82, bottom=0.12, wspace=0.28)
    return fig
