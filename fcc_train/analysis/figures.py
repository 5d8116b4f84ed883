"""Figures of ``fcc analyze``: the paper's Fig. 2(b), Fig. 4(a), Fig. 4(b) and Fig. 6 on our runs.

Every function takes plain arrays (so tests can feed constructed data) and
writes one PNG with matplotlib's Agg backend: fixed size, 200 dpi and legends of
9 pt or more (the settings of ``fcc figures``, :mod:`fcc_theory.figures.render`),
no timestamp or version metadata, PCA signs fixed, so the same input gives the
same bytes. The figure's title is also the PNG's ``Title`` metadata; ``fcc analyze``
passes titles that name the data set, the run and the checkpoint, so a figure of a
digits-LT run cannot be taken for one of the paper's CIFAR figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fcc_theory.figures.render import DPI, LEGEND_PT, figure_title, metadata

__all__ = ["fig2b_feature_scaling", "fig4a_strategies", "fig4b_recall", "fig6_boundary", "pca_2d"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata=metadata("png", figure_title(fig)), bbox_inches="tight", pad_inches=0.12)
    _plt().close(fig)
    return path


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the two leading principal directions (rows) of X, signs fixed (largest |entry| positive)."""
    X = np.asarray(X, np.float64)
    mu = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mu, full_matrices=False)
    comps = vt[:2].copy()
    if comps.shape[0] < 2:  # one-dimensional features: pad with a zero direction
        comps = np.vstack([comps, np.zeros_like(comps[0])])
    for k in range(comps.shape[0]):
        j = int(np.argmax(np.abs(comps[k])))
        if comps[k, j] < 0:
            comps[k] = -comps[k]
    return mu, comps


def fig2b_feature_scaling(
    features: np.ndarray, labels: np.ndarray, tau: Sequence[float], cls: int, path: str | Path, title: str = ""
) -> Path:
    """Fig. 2(b): the test features of class ``cls`` before and after multiplication by τ_cls (Eq. 1), with
    the other classes in grey, in the 2-D PCA projection of all (unscaled) test features. The projected
    origin is marked: multiplying by τ > 1 moves each feature away from it along its own ray. A grey line
    joins every point of the class to its multiple."""
    plt = _plt()
    F = np.asarray(features, np.float64)
    y = np.asarray(labels)
    mu, comps = pca_2d(F)
    P = (F - mu) @ comps.T
    sel = y == cls
    Ps = (F[sel] * float(tau[cls]) - mu) @ comps.T
    o = (-mu) @ comps.T
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    ax.scatter(P[~sel, 0], P[~sel, 1], s=6, c="0.8", label="other classes (original)")
    ax.scatter(P[sel, 0], P[sel, 1], s=14, c="tab:blue", label=f"class {cls}: original f")
    ax.scatter(Ps[:, 0], Ps[:, 1], s=14, c="tab:red", marker="x", label=f"class {cls}: multiplied τf, τ={float(tau[cls]):.3g}")
    segments = np.stack([P[sel], Ps], axis=1)  # (n, 2, 2): each original point and its multiple
    from matplotlib.collections import LineCollection

    ax.add_collection(
        LineCollection(list(segments), colors="0.55", linewidths=0.5, zorder=0, label=f"f → τf (all {int(sel.sum())} points)")
    )
    ax.scatter([o[0]], [o[1]], marker="+", s=80, c="k", label="origin f = 0")
    ax.set_xlabel("PC 1 of the test features")
    ax.set_ylabel("PC 2")
    ax.set_title(title or f"Fig. 2(b): original vs multiplied features of class {cls}", fontsize=10)
    ax.legend(fontsize=LEGEND_PT, loc="best")
    fig.tight_layout()
    return _save(fig, path)


def fig4a_strategies(entries: Sequence[dict[str, Any]], raw: dict[str, Any] | None, path: str | Path, title: str = "") -> Path:
    """Fig. 4(a): top-1 error against γ for each compression strategy (mean ± std over seeds), with the
    raw baseline as a band. ``entries``: dicts with strategy, gamma, mean, std (or None), n."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9.0, 4.6))
    markers = {"uniform": "o", "edc": "s", "half": "^"}
    names = {"uniform": "uniform (Eq. 2)", "edc": "equal difference (Eq. 3)", "half": "half (Eq. 4)"}
    strategies = sorted({e["strategy"] for e in entries})
    span = max((e["gamma"] for e in entries), default=1.0) - min((e["gamma"] for e in entries), default=0.0) or 1.0
    for k, strat in enumerate(strategies):
        es = sorted((e for e in entries if e["strategy"] == strat), key=lambda e: e["gamma"])
        # a small horizontal dodge keeps overlapping error bars apart (γ is read from the ticks)
        g = [e["gamma"] + (k - (len(strategies) - 1) / 2) * 0.012 * span for e in es]
        m = [e["mean"] for e in es]
        s = [e["std"] or 0.0 for e in es]
        base, _, rest = strat.partition(" ")
        label = names.get(base, base) + (f", {rest}" if rest else "")
        ax.errorbar(g, m, yerr=s, marker=markers.get(base, "d"), capsize=3, label=label)
    ax.set_xticks(sorted({e["gamma"] for e in entries}))
    if raw is not None and raw.get("mean") is not None:
        ax.axhline(raw["mean"], color="k", lw=1, ls="--", label=f"raw, mean (n={raw.get('n')})")
        if raw.get("std"):
            ax.axhspan(raw["mean"] - raw["std"], raw["mean"] + raw["std"], color="0.85", zorder=0, label="raw, mean ± 1 std")
    ax.set_xlabel("γ")
    ax.set_ylabel("top-1 error (%), mean ± std over seeds")
    ax.set_title(title or "Fig. 4(a): compression strategies and γ", fontsize=10)
    # outside the axes: inside, the legend hides error bars wherever it is put
    ax.legend(fontsize=LEGEND_PT, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return _save(fig, path)


def fig4b_recall(
    recall_raw: Sequence[float | None],
    recall_fcc: Sequence[float | None],
    class_counts: Sequence[int],
    path: str | Path,
    title: str = "",
) -> Path:
    """Fig. 4(b): per-class recall (%) without and with FCC, classes ordered by training count (head first)."""
    plt = _plt()
    order = sorted(range(len(class_counts)), key=lambda c: (-class_counts[c], c))
    x = np.arange(len(order))
    r0 = [recall_raw[c] if recall_raw[c] is not None else np.nan for c in order]
    r1 = [recall_fcc[c] if recall_fcc[c] is not None else np.nan for c in order]
    fig, ax = plt.subplots(figsize=(max(8.0, 0.35 * len(order)), 4.4))
    ax.bar(x - 0.2, r0, width=0.4, label="raw", color="tab:gray")
    ax.bar(x + 0.2, r1, width=0.4, label="+FCC", color="tab:orange")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{c}\n({class_counts[c]})" for c in order], fontsize=9 if len(order) <= 20 else 5)
    ax.set_xlabel("class (training images), head → tail")
    ax.set_ylabel("recall (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title or "Fig. 4(b): per-class recall, raw vs FCC", fontsize=10)
    # outside the axes: inside, it would cover the tail classes' bars
    ax.legend(fontsize=LEGEND_PT, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _save(fig, path)


def fig6_boundary(panels: Sequence[dict[str, Any]], major: int, minor: int, path: str | Path, title: str = "") -> Path:
    """Fig. 6: test points of a majority and a minority class near their decision boundary.

    Each panel (dict: title, features, labels, weight, bias, tau or None) plots, for the points of the two
    classes, x = the signed distance (s + B)/||w_maj - w_min|| to the pair's boundary (> 0: the majority
    side) against y = the first principal direction orthogonal to w_maj - w_min. Each class's 20 % of points
    closest to the boundary are ringed; with τ given, the pair's slab at τ_maj and τ_min is shaded
    (unscaled evaluation differs from scaled evaluation exactly there).
    """
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for ax, pan in zip(axes[0], panels, strict=True):
        F = np.asarray(pan["features"], np.float64)
        y = np.asarray(pan["labels"])
        W = np.asarray(pan["weight"], np.float64)
        b = np.zeros(W.shape[0]) if pan.get("bias") is None else np.asarray(pan["bias"], np.float64)
        v = W[major] - W[minor]
        nv = float(np.linalg.norm(v)) or 1.0
        B = float(b[major] - b[minor])
        sel = (y == major) | (y == minor)
        X = F[sel]
        dist = (X @ v + B) / nv
        R = X - np.outer(X @ v / nv**2, v)  # component orthogonal to v
        _, comps = pca_2d(R) if len(R) > 1 else (None, np.zeros((2, F.shape[1])))
        yy = (R - R.mean(axis=0)) @ comps[0]
        ys = y[sel]
        # boundary points: per class, the 20 % of its points nearest the pair's boundary
        near = np.zeros(len(dist), bool)
        for c in (major, minor):
            m = ys == c
            if m.any():
                near |= m & (np.abs(dist) <= np.quantile(np.abs(dist[m]), 0.2))
        tau = pan.get("tau")
        if tau is not None:
            for c, col in ((major, "tab:blue"), (minor, "tab:red")):
                t = float(tau[c])
                # the slab {-B <= s <= -B/τ} is {0 <= s + B <= B(1 - 1/τ)} in the margin s + B
                lo, hi = sorted((0.0, B * (1 - 1 / t) / nv))
                ax.axvspan(lo, hi, color=col, alpha=0.12, lw=0, label=f"slab at τ_{c}={t:.3g}")
        for c, col, name in ((major, "tab:blue", "majority"), (minor, "tab:red", "minority")):
            m = ys == c
            ax.scatter(dist[m], yy[m], s=12, c=col, alpha=0.7, label=f"{name} class {c} (n={int(m.sum())})")
            mm = m & near
            ax.scatter(dist[mm], yy[mm], s=60, facecolors="none", edgecolors="k", lw=0.8)
        wrong = int(((ys == major) & (dist < 0)).sum() + ((ys == minor) & (dist > 0)).sum())
        ax.axvline(0.0, color="k", lw=1)
        ax.set_xlabel("signed distance to the pair's boundary (> 0: majority side)")
        ax.set_ylabel("orthogonal PC 1")
        ax.set_title(
            f"{pan.get('title', '')}\n{wrong} of {int(sel.sum())} on the wrong side; ringed: each class's 20 % nearest",
            fontsize=9,
        )
        ax.legend(fontsize=LEGEND_PT, loc="best")
    fig.suptitle(title or f"Fig. 6: boundary points of class {major} (majority) and class {minor} (minority)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
