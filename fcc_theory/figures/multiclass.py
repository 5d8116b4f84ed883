"""A 3-class linear head in 2-D (theory.md §1.5c): decision regions for scaled and unscaled features.

Logits ℓ = τWf + b (scaled, FCC's training mode) and ℓ = Wf + b (unscaled, test). Pairwise, the
scaled boundary is (w_i - w_j)·f = -(b_i - b_j)/τ and the unscaled one -(b_i - b_j), so for τ > 1
the class with the larger bias gains the slab between them: a point classified c scaled and c′
unscaled has b_c′ > b_c (flip monotonicity, claim C15). Every flip shown is an exact rational
point evaluated by ``check_configuration`` on the one-layer network (W, b).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

F = Fraction

W_HEAD = ((F(1), F(0)), (F(-1, 2), F(7, 8)), (F(-1, 2), F(-7, 8)))
B_HEAD = (F(3, 2), F(0), F(-3, 2))
TAU_HEAD = F(2)
LIM = F(3)
STEP = F(1, 4)


@dataclass(frozen=True)
class Flip:
    """An exact point classified ``scaled`` at τf and ``unscaled`` at f, with the arrow across its slab."""

    point: tuple[Fraction, Fraction]
    scaled: int
    unscaled: int
    start: tuple[Fraction, Fraction]  # foot on the scaled boundary of the pair
    end: tuple[Fraction, Fraction]  # foot on the unscaled boundary


@dataclass(frozen=True)
class MulticlassData:
    net: Network
    W: tuple[tuple[Fraction, Fraction], ...]
    b: tuple[Fraction, ...]
    tau: Fraction
    grid_flips: tuple[tuple[tuple[Fraction, Fraction], int, int], ...]  # every flipped grid point (f, scaled, unscaled)
    arrows: tuple[Flip, ...]


def multiclass_data(W: Any = W_HEAD, b: Any = B_HEAD, tau: Fraction = TAU_HEAD) -> MulticlassData:
    """Evaluate the head on an exact rational grid; keep every flip and one representative arrow per class pair."""
    net = Network.from_matrices([[list(r) for r in W]], [list(b)])
    n = int(2 * LIM / STEP)
    flips = []
    for a in range(n + 1):
        for c in range(n + 1):
            f = (-LIM + a * STEP, -LIM + c * STEP)
            rep = check_configuration(net, f, tau)
            if rep.class_scaled is not None and rep.class_original is not None and rep.class_scaled != rep.class_original:
                flips.append((f, rep.class_scaled, rep.class_original))
    arrows = []
    for pair in sorted({(s, u) for _, s, u in flips}):
        pts = [f for f, s, u in flips if (s, u) == pair]
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        p = min(pts, key=lambda q: ((q[0] - cx) ** 2 + (q[1] - cy) ** 2, q))  # the flip nearest the set's centroid
        s, u = pair
        nvec = (W[u][0] - W[s][0], W[u][1] - W[s][1])
        dB = b[u] - b[s]
        n2 = nvec[0] ** 2 + nvec[1] ** 2

        def proj(
            level: Fraction, p: tuple[Fraction, Fraction] = p, nvec: tuple[Fraction, Fraction] = nvec, n2: Fraction = n2
        ) -> tuple[Fraction, Fraction]:
            """The foot of p on the line nvec·f = level (exact)."""
            t = (level - (nvec[0] * p[0] + nvec[1] * p[1])) / n2
            return (p[0] + t * nvec[0], p[1] + t * nvec[1])

        arrows.append(Flip(p, s, u, proj(-dB / tau), proj(-dB)))
    return MulticlassData(net, tuple(tuple(r) for r in W), tuple(b), tau, tuple(flips), tuple(arrows))


def render_multiclass(d: MulticlassData) -> Any:
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from fcc_theory.figures.render import LEGEND_PT, new_figure

    colors = ("#aec7e8", "#ffbb78", "#98df8a")
    strong = ("#1f77b4", "#ff7f0e", "#2ca02c")
    fig = new_figure(8.5, 8)
    ax = fig.add_subplot(1, 1, 1)
    L = float(LIM)
    g = np.linspace(-L, L, 601)
    X, Y = np.meshgrid(g, g)
    Wf = np.array([[float(v) for v in r] for r in d.W])
    bf = np.array([float(v) for v in d.b])
    tau = float(d.tau)
    # drawing only: float argmax on a fine grid; the flips themselves are exact (check_configuration)
    lin = np.einsum("cd,dxy->cxy", Wf, np.stack([X, Y]))
    scaled = np.argmax(tau * lin + bf[:, None, None], axis=0)
    unscaled = np.argmax(lin + bf[:, None, None], axis=0)
    ax.imshow(
        unscaled,
        origin="lower",
        extent=(-L, L, -L, L),
        cmap=ListedColormap(colors),
        alpha=0.55,
        vmin=0,
        vmax=2,
        interpolation="nearest",
    )
    ax.contourf(X, Y, (scaled != unscaled).astype(float), levels=[0.5, 1.5], colors="none", hatches=["////"])
    ax.contour(X, Y, unscaled, levels=[0.5, 1.5], colors="black", linewidths=2)
    ax.contour(X, Y, scaled, levels=[0.5, 1.5], colors="black", linewidths=1.5, linestyles="--")
    fx = [float(f[0]) for f, _, _ in d.grid_flips]
    fy = [float(f[1]) for f, _, _ in d.grid_flips]
    ax.scatter(fx, fy, s=6, color="black", zorder=5)
    for fl in d.arrows:
        (x0, y0), (x1, y1) = [(float(a), float(c)) for a, c in (fl.start, fl.end)]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={"arrowstyle": "-|>", "color": strong[fl.unscaled], "linewidth": 2.2, "mutation_scale": 16},
            zorder=6,
        )
        ax.annotate(
            f"{fl.scaled}→{fl.unscaled}",
            (x1, y1),
            textcoords="offset points",
            xytext=(-6, -14),
            fontsize=9,
            fontweight="bold",
            color=strong[fl.unscaled],
            ha="right",
            zorder=7,
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1},
        )
    # class labels where each class wins in both modes, away from the boundaries
    for c in range(3):
        both = (scaled == c) & (unscaled == c)
        ys, xs = np.nonzero(both)
        if len(xs):
            far = np.argmax(np.hypot(g[xs], g[ys]) * (np.abs(g[xs]) < 0.8 * L) * (np.abs(g[ys]) < 0.8 * L))
            ax.text(
                g[xs[far]],
                g[ys[far]],
                f"class {c}\nb = {d.b[c]}",
                ha="center",
                va="center",
                fontsize=10,
                color=strong[c],
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": strong[c]},
            )
    ax.set_xlim(-L, L)
    ax.set_ylim(-L, L)
    ax.set_aspect("equal")
    ax.set_xlabel("f1")
    ax.set_ylabel("f2")
    rows = ", ".join(f"w{c} = ({d.W[c][0]}, {d.W[c][1]})" for c in range(3))
    ax.set_title(
        f"3-class linear head, τ = {d.tau}: {rows}\nregions: unscaled argmax(Wf + b); hatched: scaled argmax(τWf + b) differs",
        fontsize=9.5,
    )
    n_ok = sum(1 for _, s, u in d.grid_flips if d.b[u] > d.b[s])
    handles = [
        Line2D([], [], color="black", linewidth=2, label="unscaled boundary (w_i - w_j)·f = -(b_i - b_j)"),
        Line2D([], [], color="black", linewidth=1.5, linestyle="--", label="scaled boundary (w_i - w_j)·f = -(b_i - b_j)/τ"),
        Patch(facecolor="white", edgecolor="black", hatch="////", label="slab: scaled and unscaled classes differ"),
        Line2D(
            [],
            [],
            color="black",
            marker="o",
            linestyle="none",
            markersize=3,
            label=f"exact flips on the 1/4 grid (check_configuration): {len(d.grid_flips)}, toward larger bias: {n_ok}",
        ),
        Line2D(
            [],
            [],
            color="0.3",
            marker=">",
            linewidth=2,
            label="arrow c→c′: scaled boundary → unscaled boundary; class c′ (larger bias) gains",
        ),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=LEGEND_PT, frameon=False)
    fig.subplots_adjust(left=0.08, right=0.97, top=0.92, bottom=0.2)
    return fig
