"""``fcc analyze``'s report: a trained head checked against the slab theory, its text form, and the figures
(Fig. 2(b), 4(a), 4(b), 6) drawn from trained runs.

:func:`analyze_run` rebuilds a run's data and model (:mod:`fcc_train.analysis.run_features`) and decides
exactly (:mod:`fcc_train.analysis.head_theory`): the bias-rescaling identity on every feature, which points
change class between scaled evaluation (τ of the label, or of the predicted class) and unscaled evaluation as
predicted by the pairwise slabs, and whether the measured flips (exact, and in the model's own float32) match
point for point.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from fcc_theory.errors import UserError
from fcc_train.analysis.head_theory import HeadReport
from fcc_train.analysis.run_features import LoadedRun, load_run

__all__ = ["RunAnalysis", "analyze_run", "format_report", "run_figures", "strategy_entries"]


@dataclass
class RunAnalysis:
    """One run's head against the theory: the loaded run, the exact report, its JSON (with ``meta`` and
    ``notes``) and the model's float32 predictions."""

    run: LoadedRun
    head: HeadReport
    report: dict[str, Any]
    predictions: np.ndarray

    @property
    def ok(self) -> bool:
        """Theory and exact measurement agree on every point."""
        return self.head.ok


def analyze_run(run_dir: str | Path, checkpoint: str = "best", split: str = "test", device: str = "cpu") -> RunAnalysis:
    """Check the head of ``run_dir``'s ``checkpoint`` on ``split`` against the theory."""
    from fcc_train.analysis.head_theory import analyze_head
    from fcc_train.fcc import tau_by_class, tau_fractions

    lr = load_run(run_dir, checkpoint, split, device)
    cfg = lr.cfg
    if lr.weight is None:
        raise UserError(
            f"run '{lr.path}' has a {lr.head_kind} head; the slab theory covers linear heads "
            "(a cosine head normalises f, so tau cancels and no point can change class)"
        )
    taus: list[Fraction] = tau_fractions(cfg.fcc, lr.class_counts)
    t32 = tau_by_class(cfg.fcc, lr.class_counts).numpy()
    rep = analyze_head(
        lr.features, lr.labels, lr.weight, lr.bias, taus, lr.class_counts, float_head=lr.float_head, float_taus=t32
    )
    js = rep.to_json()
    pred = np.argmax(lr.float_head(lr.features), axis=1)
    meta = {
        "run": str(lr.path),
        "checkpoint": checkpoint,
        "epoch": lr.epoch,
        "split": split,
        "dataset": lr.dataset,
        "head": lr.head_kind,
        "feature_dim": int(lr.features.shape[1]),
        "fcc_enabled": bool(cfg.fcc.enabled),
        "stored_error": lr.stored_error,
        "recomputed_error": 100.0 * float((pred != lr.labels).mean()),
    }
    if not cfg.fcc.enabled:
        js["notes"].append("this run trained without FCC; tau is the config's (unused) strategy, applied hypothetically")
    js["meta"] = meta
    return RunAnalysis(lr, rep, js, pred)


def run_figures(
    analysis: RunAnalysis,
    figs: Path,
    cls: int | None = None,
    compare: str | Path | None = None,
    checkpoint: str = "best",
    split: str = "test",
    device: str = "cpu",
) -> list[str]:
    """Fig. 2(b) of class ``cls`` (default: the majority class); with ``compare`` (a run without FCC on the same
    data) also Fig. 4(b) and Fig. 6. Returns the files written."""
    from fcc_train.analysis.figures import fig2b_feature_scaling, fig4b_recall, fig6_boundary

    lr, pred = analysis.run, analysis.predictions
    C = len(lr.class_counts)
    taus = [float(t) for t in analysis.head.taus]
    order = sorted(range(C), key=lambda c: (-lr.class_counts[c], c))
    cls = order[0] if cls is None else cls
    if not 0 <= cls < C:
        raise UserError(f"--class {cls} is not a class id; use 0..{C - 1}")
    title2b = f"Fig. 2(b) on {lr.dataset}: class {cls}, original vs multiplied by τ\n{_source(lr, checkpoint, split)}"
    out = [str(fig2b_feature_scaling(lr.features, lr.labels, taus, cls, figs / "fig2b_feature_scaling.png", title2b))]
    if compare:
        raw = load_run(compare, checkpoint, split, device)
        if raw.class_counts != lr.class_counts or len(raw.labels) != len(lr.labels) or not np.array_equal(raw.labels, lr.labels):
            raise UserError(f"--compare run '{raw.path}' was trained on different data; compare runs of the same data config")
        pr = np.argmax(raw.float_head(raw.features), axis=1)
        title4b = (
            f"Fig. 4(b) on {lr.dataset}: per-class recall ({split} split), raw vs FCC\n"
            f"raw: run {raw.path}, {checkpoint} checkpoint (epoch {raw.epoch}); FCC: run {lr.path}, epoch {lr.epoch}"
        )
        recalls = (_recall(pr, raw.labels, C), _recall(pred, lr.labels, C))
        out.append(str(fig4b_recall(*recalls, lr.class_counts, figs / "fig4b_recall.png", title4b)))
        panels = []
        if raw.weight is not None:
            panels.append(_panel("without compression\n" + _source(raw, checkpoint, split, sep="\n"), raw, None))
        panels.append(_panel("with compression\n" + _source(lr, checkpoint, split, sep="\n"), lr, taus))
        title6 = (
            f"Fig. 6 on {lr.dataset}: boundary points of class {order[0]} (majority) and class {order[-1]} (minority), "
            f"{split} split, {checkpoint} checkpoints"
        )
        out.append(str(fig6_boundary(panels, order[0], order[-1], figs / "fig6_boundary.png", title6)))
    return out


def _source(run: LoadedRun, checkpoint: str, split: str, sep: str = ", ") -> str:
    """Which run, checkpoint and split a figure shows (its title names them); ``sep`` a newline in narrow panels."""
    return f"run {run.path}{sep}{checkpoint} checkpoint (epoch {run.epoch}), {split} split"


def strategy_title(paths: list[str], metric: str = "best") -> str:
    """Fig. 4(a)'s title: the data sets of the runs, where they are and which epoch's error is plotted."""
    from fcc_train.results.run_results import find_runs

    sets = sorted(
        {
            f"{(d := r.config.get('data', {})).get('dataset')}-LT (imbalance {float(d.get('imbalance_factor', 0)):g})"
            for r in find_runs(paths)
        }
    )
    where = textwrap.fill(f"runs under {', '.join(paths)}; {metric} checkpoint's test top-1 error", width=110)
    return f"Fig. 4(a) on {', '.join(sets)}: compression strategies and γ\n{where}"


def _panel(title: str, run: LoadedRun, taus: list[float] | None) -> dict[str, Any]:
    return {"title": title, "features": run.features, "labels": run.labels, "weight": run.weight, "bias": run.bias, "tau": taus}


def _recall(pred: np.ndarray, labels: np.ndarray, C: int) -> list[float | None]:
    out: list[float | None] = []
    for c in range(C):
        m = labels == c
        out.append(100.0 * float((pred[m] == c).mean()) if m.any() else None)
    return out


def strategy_entries(paths: list[str], metric: str = "best") -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Fig. 4(a) data: mean ± std of top-1 error per (strategy, γ) over seeds, and the raw runs' band."""
    from fcc_train.results.run_results import Stats, find_runs

    runs = find_runs(paths)
    groups: dict[tuple[str, float], list[float]] = {}
    raw: list[float] = []
    for r in runs:
        f = r.config.get("fcc", {})
        e = r.error(metric)
        if e is None:
            continue
        if not f.get("enabled"):
            raw.append(e)
            continue
        strat = f.get("strategy", "edc") + (f" β={f.get('beta', 0)}" if f.get("strategy") == "half" else "")
        groups.setdefault((strat, float(f.get("gamma"))), []).append(e)
    if not groups:
        raise UserError("--strategies: none of the runs has FCC enabled; pass runs of the uniform/edc/half configs")
    entries = []
    for (s, g), v in sorted(groups.items()):
        st = Stats.of(v)
        entries.append({"strategy": s, "gamma": g, "mean": st.mean, "std": st.std, "n": st.n})
    rs = Stats.of(raw)
    return entries, ({"mean": rs.mean, "std": rs.std, "n": rs.n} if raw else None)


def format_report(rep: dict[str, Any], meta: dict[str, Any]) -> str:
    """The human-readable report (the JSON holds everything)."""
    L = []
    L.append(
        f"run {meta['run']} ({meta['checkpoint']}.pt, epoch {meta['epoch']}), {meta['dataset']} {meta['split']} split: "
        f"{rep['num_points']} points, {rep['num_classes']} classes, head {meta['head']}"
        + (" without bias" if rep["bias_free"] else " with bias")
        + f", d = {meta['feature_dim']}"
    )
    L.append("tau per class: " + " ".join(rep["tau"]) + "   (training counts: " + " ".join(map(str, rep["class_counts"])) + ")")
    if meta.get("stored_error") is not None:
        L.append(
            f"top-1 error stored by fcc train {meta['stored_error']:.2f} %, recomputed here (float32) {meta['recomputed_error']:.2f} %"
        )
    idf = rep["identity"]
    fl = f", float32 {idf['float_holds']}/{idf['points']}" if idf["float_holds"] is not None else ""
    L.append(f"identity argmax(tau*Wf + b) = argmax(Wf + b/tau): exact {idf['exact_holds']}/{idf['points']}{fl}")
    for name, m in rep["modes"].items():
        what = "tau of the true class" if name == "true" else "tau of the predicted (unscaled) class"
        L.append(
            f"[{name}] scaled by {what}: flips predicted by the slabs {m['flips_predicted']}, measured exactly "
            f"{m['flips_measured_exact']}, in float32 {m['flips_measured_float']}; prediction = measurement on "
            f"{m['agree_exact']}/{m['points']} points; float32 disagrees with exact on {len(m['float_mismatches'])}"
        )
        d = m["direction"]
        L.append(
            f"    direction: {d['flips']} flips, {d['bias_larger_unscaled']} to the class with the larger bias, "
            f"{d['violations']} against it, {d['ties']} through a tie; {d['toward_more_frequent']} toward the more frequent class"
        )
        if m["transitions"]:
            L.append("    transitions (scaled -> unscaled class): " + ", ".join(f"{k} x{v}" for k, v in m["transitions"].items()))
        L.append(
            f"    top-1 error: scaled {m['top1_error_scaled']:.2f} %, unscaled {m['top1_error_unscaled']:.2f} %;"
            f" points where some class pair changes order (in a slab): {m['in_any_slab']}"
        )
        L.append(
            f"    {'split':7} {'points':>6} {'flips':>5} {'in slab':>7} {'right unscaled':>14} {'right scaled':>12} {'fixed':>5} {'broken':>6}"
        )
        for sp, v in m["by_split"].items():
            L.append(
                f"    {sp:7} {v['points']:>6} {v['flips_exact']:>5} {v['in_any_slab']:>7} {v['correct_unscaled']:>14} "
                f"{v['correct_scaled']:>12} {v['flips_fixing']:>5} {v['flips_breaking']:>6}"
            )
        L.extend(f"    MISMATCH {json.dumps(mm)}" for mm in m["mismatches"][:10])
        L.extend(f"    float32 vs exact: {json.dumps(mm)}" for mm in m["float_mismatches"][:10])
    bd = rep["slab_width"]["boundary_distance"]
    L.append(
        "slab width per class (feature space, pairs (c, j) at tau_c): class tau min / median / max;"
        " beside it the median distance of the class's test points to their nearest decision boundary"
    )
    for pc, md in zip(rep["slab_width"]["per_class"], bd["median_per_class"], strict=True):
        med = "n/a" if md is None else f"{md:.4g}"
        L.append(f"    {pc['class']:>3} {pc['tau']:>6} {pc['min']:.4g} / {pc['median']:.4g} / {pc['max']:.4g}   distance {med}")
    bv = rep["bias_vs_frequency"]
    rho = "n/a" if bv["spearman_rank_corr"] is None else f"{bv['spearman_rank_corr']:+.2f}"
    L.append(
        f"bias vs training count: the more frequent class has the larger bias in {bv['pairs_more_frequent_has_larger_bias']}"
        f"/{bv['pairs_compared']} pairs (rank correlation {rho})"
    )
    L.extend(f"note: {n}" for n in rep["notes"])
    L.append(
        "verdict: "
        + (
            "theory and exact measurement agree on every point"
            if rep["ok"]
            else "THEORY AND MEASUREMENT DISAGREE (see MISMATCH lines)"
        )
    )
    return "\n".join(L)
