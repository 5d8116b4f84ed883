"""Fig. 3 (a)–(d) of the paper, drawn from exact 3-3-2 networks that ``fcc check`` evaluated.

Each panel is a linear 3-3-2 network whose hidden layer is the identity (so the
hidden feature X equals the input x), with the paper's margin
``η = τ k·X + B`` (Eq. 6) and ``η′ = k·X + B`` (Eq. 8). The planes η = 0 and
η′ = 0 are ``d·X = 1/τ`` and ``d·X = 1`` with ``d = -k/B`` (Eqs. 7, 9). The
paper's caption asks for four cases; two of them (3a and 3d: η′ below η along
d) exist only for 0 < τ < 1 (theory.md §1.4, claim C12), so they are built with
τ = 1/2 and say so. The case, the plane order and the verdict in every title are
computed here, never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from fcc_theory.geometry import PlaneGeometry, hidden_space, network_geometry
from fcc_theory.margins import CheckReport, check_configuration
from fcc_theory.network import Network
from fcc_theory.rational import format_rational as fr

F = Fraction


@dataclass(frozen=True)
class Fig3Panel:
    """One panel: the network, the configuration, its plane geometry and the verdict of ``fcc check``."""

    key: str
    caption: str
    net: Network
    geometry: PlaneGeometry
    report: CheckReport
    pair: tuple[int, int] = (0, 1)

    @property
    def verdict(self) -> str:
        return verdict_word(self.report)

    @property
    def point_above_eta(self) -> bool | None:
        """Is X above η = 0 along d (τ d·X > 1)? None when B = 0."""
        g = self.geometry
        return None if g.d_dot_x is None else g.tau * g.d_dot_x > 1

    def title(self, space: str = "X") -> str:
        g = self.geometry
        head = f"({self.key}) " if self.key else ""
        where = ""
        if self.point_above_eta is not None:
            where = f", {space} {'above' if self.point_above_eta else 'below'} η"
        line1 = f"{head}{g.case}{where}, τ = {fr(g.tau)}"
        if g.tau < 1:
            line1 += "\n(0 < τ < 1: this order is impossible for τ > 1)"
        r = self.report
        cls = lambda c: "tie" if c is None else f"class {c}"
        line2 = f"fcc check: {self.verdict} ({cls(r.class_scaled)} at τ{space}, {cls(r.class_original)} at {space})"
        return f"{line1}\n{line2}"


def verdict_word(report: CheckReport) -> str:
    """agree / DISAGREE / tie from a check report (class None = tie, the project's convention)."""
    if report.agree:
        return "agree"
    if report.class_scaled is None or report.class_original is None:
        return "tie"
    return "DISAGREE" if report.agree is False else "undecided"


def paper_network(k: Sequence[Any], hidden_bias: Sequence[Any], z: Sequence[Any]) -> Network:
    """The paper's 3-3-2 linear network with an identity hidden layer and output rows (k, 0)."""
    eye = [[1 if i == j else 0 for j in range(3)] for i in range(3)]
    return Network.from_matrices([eye, [list(k), [0, 0, 0]]], [list(hidden_bias), list(z)])


def build_panel(key: str, caption: str, net: Network, x: Sequence[Any], tau: Any, pair: tuple[int, int] = (0, 1)) -> Fig3Panel:
    """Evaluate the configuration with ``check_configuration`` and compute its planes."""
    geom = network_geometry(net, x, tau, pair)
    return Fig3Panel(key, caption, net, geom, check_configuration(net, x, F(tau)), pair)


# The four configurations. k and the biases fix d = -k/B = (1/4, 1/4, 1) in every panel, so the planes
# look alike and only B's sign, τ and the point change. B comes from the output bias in (a), (b) and
# from the hidden bias in (c), (d) (B = Σ k_j b_j + z_1 - z_2, theory.md §1.1).
_K_NEG = (F(1, 4), F(1, 4), F(1))  # B = -1: d = k
_K_POS = (F(-1, 4), F(-1, 4), F(-1))  # B = +1 (hidden bias b_3 = -1): d = -k
PANEL_SPECS: tuple[tuple[str, str, Any, tuple[Fraction, ...], Fraction], ...] = (
    ("a", "point above η, η′ below η", (_K_NEG, (0, 0, 0), (0, 1)), (F(1), F(1), F(2)), F(1, 2)),
    ("b", "point above η, η′ above η", (_K_NEG, (0, 0, 0), (0, 1)), (F(1, 2), F(1, 2), F(1, 2)), F(2)),
    ("c", "point below η, η′ above η", (_K_POS, (0, 0, -1), (0, 0)), (F(1, 2), F(1, 2), F(1, 8)), F(2)),
    ("d", "point below η, η′ below η", (_K_POS, (0, 0, -1), (0, 0)), (F(1), F(1), F(1)), F(1, 2)),
)


def fig3_panels() -> list[Fig3Panel]:
    """The four panels of Fig. 3, each evaluated exactly."""
    return [build_panel(key, cap, paper_network(*net), x, tau) for key, cap, net, x, tau in PANEL_SPECS]


# ------------------------------------------------------------------------------------------ drawing
def _box(g: PlaneGeometry) -> tuple[list[float], list[float]]:
    """A box holding the origin, X, τX and the foot of both planes on the normal (so both planes cross it)."""
    import numpy as np

    v = np.array([float(c) for c in g.v])
    n2 = float(g.norm2_v)
    pts = [np.zeros(3), np.array([float(c) for c in g.x]), np.array([float(c) for c in g.tau_x])]
    pts += [float(c) / n2 * v for c in g.plane_levels()]
    P = np.array(pts)
    lo, hi = P.min(axis=0), P.max(axis=0)
    span = max(float((hi - lo).max()), 1e-9)
    pad = 0.2 * span
    # at least a third of the largest span in every axis, so a flat configuration is still a box
    mid = (lo + hi) / 2
    half = np.maximum((hi - lo) / 2 + pad, span / 3)
    return list(mid - half), list(mid + half)


def _clip(poly: list[Any], f: Any, c: float, keep_ge: bool) -> list[Any]:
    """Sutherland–Hodgman: keep the part of a convex polygon with f·p ≥ c (or ≤ c)."""
    import numpy as np

    out = []
    sgn = 1.0 if keep_ge else -1.0
    n = len(poly)
    for a_i in range(n):
        a, b = poly[a_i], poly[(a_i + 1) % n]
        fa, fb = sgn * (float(np.dot(f, a)) - c), sgn * (float(np.dot(f, b)) - c)
        if fa >= 0:
            out.append(a)
        if (fa >= 0) != (fb >= 0):
            out.append(a + (b - a) * (fa / (fa - fb)))
    return out


def _box_faces(lo: list[float], hi: list[float]) -> list[list[Any]]:
    import numpy as np

    faces = []
    for axis in range(3):
        for val in (lo[axis], hi[axis]):
            o = [i for i in range(3) if i != axis]
            quad = []
            for a, b in ((0, 0), (1, 0), (1, 1), (0, 1)):
                p = np.zeros(3)
                p[axis] = val
                p[o[0]] = (lo[o[0]], hi[o[0]])[a]
                p[o[1]] = (lo[o[1]], hi[o[1]])[b]
                quad.append(p)
            faces.append(quad)
    return faces


def _plane_polygon(v: Any, c: float, lo: list[float], hi: list[float]) -> list[Any]:
    """The plane v·p = c cut by the box, as an ordered convex polygon."""
    import numpy as np

    pts = []
    for face in _box_faces(lo, hi):
        for i in range(4):
            a, b = face[i], face[(i + 1) % 4]
            fa, fb = float(np.dot(v, a)) - c, float(np.dot(v, b)) - c
            if fa == 0:
                pts.append(a)
            elif fa * fb < 0:
                pts.append(a + (b - a) * (fa / (fa - fb)))
    if len(pts) < 3:
        return []
    P = np.array(pts)
    cen = P.mean(axis=0)
    n = v / np.linalg.norm(v)
    e1 = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    ang = np.arctan2((P - cen) @ e2, (P - cen) @ e1)
    order = np.argsort(ang, kind="stable")
    uniq: list[np.ndarray] = []
    for p in P[order]:
        if not uniq or np.linalg.norm(p - uniq[-1]) > 1e-12:
            uniq.append(p)
    return uniq


ETA_COLOR, ETA_P_COLOR, SLAB_COLOR = "#1f77b4", "#ff7f0e", "#7f7f7f"


def draw_panel(ax: Any, panel: Fig3Panel, space: str = "X", zoom: float = 1.0) -> None:
    """Draw one Fig. 3 panel on a 3-D axes (``zoom`` > 1 fills more of the axes with the box)."""
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    from fcc_theory.figures.render import LEGEND_PT

    g = panel.geometry
    v = np.array([float(c) for c in g.v])
    lo, hi = _box(g)
    c_eta, c_etap = (float(c) for c in g.plane_levels())
    # slab: the box's faces clipped to the region between the two planes, translucent
    a, b = sorted((c_eta, c_etap))
    slab_faces = [q for q in (_clip(_clip(face, v, a, True), v, b, False) for face in _box_faces(lo, hi)) if len(q) >= 3]
    ax.add_collection3d(Poly3DCollection(slab_faces, facecolor=SLAB_COLOR, alpha=0.22, edgecolor=SLAB_COLOR, linewidth=0.4))
    for c, col in ((c_eta, ETA_COLOR), (c_etap, ETA_P_COLOR)):
        poly = _plane_polygon(v, c, lo, hi)
        if poly:
            ax.add_collection3d(Poly3DCollection([poly], facecolor=col, alpha=0.35, edgecolor=col, linewidth=1.2))
    x = np.array([float(c) for c in g.x])
    tx = np.array([float(c) for c in g.tau_x])
    far = max(1.0, float(g.tau)) * 1.15
    ray = np.array([[0, 0, 0], far * x if far * np.linalg.norm(x) >= np.linalg.norm(tx) else tx])
    ax.plot(ray[:, 0], ray[:, 1], ray[:, 2], color="0.35", linestyle=":", linewidth=1.2)
    ax.scatter([0], [0], [0], color="black", s=12, marker="o", depthshade=False)
    ax.scatter(*x, color="black", s=50, marker="o", depthshade=False, zorder=10)
    ax.scatter(*tx, color="#d62728", s=70, marker="^", depthshade=False, zorder=10)
    off = 0.04 * (hi[2] - lo[2])
    ax.text(x[0], x[1], x[2] + off, f" {space}", fontsize=10, fontweight="bold", color="black", zorder=11)
    ax.text(tx[0], tx[1], tx[2] + off, f" τ{space}", fontsize=10, fontweight="bold", color="#d62728", zorder=11)
    if g.d is not None:
        # unit normal drawn as far as the farther plane: "up" along d
        dn = np.array([float(c) for c in g.d])
        dn /= np.linalg.norm(dn)
        L = max(g.offset_eta, g.offset_eta_prime)
        ax.quiver(0, 0, 0, *(L * dn), color="green", linewidth=1.5, arrow_length_ratio=0.12)
    for setlim, l_, h_ in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), lo, hi, strict=True):
        setlim(l_, h_)
    ax.set_xlabel(f"{space}1", labelpad=-2)
    ax.set_ylabel(f"{space}2", labelpad=-2)
    ax.set_zlabel(f"{space}3", labelpad=-2)
    ax.tick_params(labelsize=7, pad=0)
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    # equal scales on the three axes: the normal d then looks perpendicular to the planes
    ax.set_box_aspect(tuple(h_ - l_ for l_, h_ in zip(lo, hi, strict=True)), zoom=zoom)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_pane_color((1.0, 1.0, 1.0, 0.0))
    ax.view_init(elev=12, azim=-62)
    ax.set_title(panel.title(space), fontsize=9.5)
    dx = "" if g.d_dot_x is None else f", d·{space} = {fr(g.d_dot_x)}"
    dtx = "" if g.d_dot_x is None else f", d·τ{space} = {fr(g.tau * g.d_dot_x)}"
    handles = [
        Patch(facecolor=ETA_COLOR, alpha=0.5, label=f"η = 0  (d·{space} = 1/τ = {fr(1 / g.tau)})" if g.d else "η = 0"),
        Patch(facecolor=ETA_P_COLOR, alpha=0.5, label=f"η′ = 0  (d·{space} = 1)" if g.d else "η′ = 0"),
        Patch(facecolor=SLAB_COLOR, alpha=0.3, label="slab: signs of η, η′ differ"),
        Line2D([], [], color="black", marker="o", linestyle="none", label=f"{space} = ({', '.join(fr(c) for c in g.x)}){dx}"),
        Line2D([], [], color="#d62728", marker="^", linestyle="none", label=f"τ{space}{dtx}"),
    ]
    if g.d is not None:
        handles.append(Line2D([], [], color="green", label="d = -k/B (unit normal, 'up')"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.03), fontsize=LEGEND_PT, ncol=2, frameon=False)


def render_fig3(panels: list[Fig3Panel]) -> Any:
    """The 2×2 figure of the four panels."""
    from fcc_theory.figures.render import new_figure

    fig = new_figure(11.0, 12.8)
    for idx, panel in enumerate(panels):
        ax = fig.add_subplot(2, 2, idx + 1, projection="3d")
        draw_panel(ax, panel)
    fig.suptitle(
        "Fig. 3 from exact 3-3-2 networks (hidden layer = identity, so X = x): planes η = 0 and η′ = 0, X and τX",
        fontsize=12,
        y=0.985,
    )
    # room above each panel for its three-line title and below it for its 9 pt legend
    fig.subplots_adjust(left=0.02, right=0.98, top=0.89, bottom=0.08, wspace=0.08, hspace=0.45)
    return fig


def user_panel(net: Network, x: Sequence[Any], tau: Any, pair: tuple[int, int]) -> Fig3Panel:
    """The user's own configuration (``fcc figures --network``), drawn in input space."""
    panel = build_panel("", "your configuration", net, x, tau, pair)
    return panel


def render_user(panel: Fig3Panel, name: str) -> Any:
    from fcc_theory.figures.render import new_figure

    # wide rather than square: the drawn box is long along the normal and flat across it
    fig = new_figure(9.0, 6.6)
    ax = fig.add_axes((0.0, 0.13, 1.0, 0.72), projection="3d")
    draw_panel(ax, panel, space="x", zoom=1.25)
    i, j = panel.pair
    hs = hidden_space(panel.net, panel.pair)
    extra = ""
    if hs is not None:
        k, B, _ = hs
        extra = f"; hidden-space k = ({', '.join(fr(c) for c in k)}), B = {fr(B)}"
    # two lines: the file and pair, then the normal (and hidden-space k, B), so a long title never runs off the canvas
    fig.suptitle(
        f"{name}: class pair ({i},{j}) in input space\nv = A_{i} - A_{j} = ({', '.join(fr(c) for c in panel.geometry.v)}){extra}",
        fontsize=10,
        y=0.99,
    )
    return fig
